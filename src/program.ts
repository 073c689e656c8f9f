/**
 * The program: only here does the library end the process. `serve` and `serveHttp` run their task with
 * this; `serveTask` and `serveHttpTask` leave it to the caller.
 */
import fs = require('node:fs')
import * as E from 'fp-ts/Either'
import type * as TE from 'fp-ts/TaskEither'
import { describeServeError, type ServeError } from './modes/errors'
import type { Stopped } from './modes/prepare'

/** Runs a serve task as the program: exits with its code, or prints why it could not start and exits 1. */
export const runMain = (task: TE.TaskEither<ServeError, Stopped>): Promise<never> =>
  task().then((result) => {
    if (E.isLeft(result) && result.left._tag === 'AlreadyServing') {
      // a second serve call: the first goes on serving, and this one never returns
      fs.writeSync(2, `uninterruptible: ${describeServeError(result.left)}\n`)
      return new Promise<never>(() => undefined)
    }
    if (E.isLeft(result)) {
      try {
        fs.writeSync(2, `uninterruptible: ${describeServeError(result.left)}\n`)
      } catch {
        // stderr is gone: the exit code says it
      }
      process.exit(1)
    }
    process.exit(result.right.code)
  })
