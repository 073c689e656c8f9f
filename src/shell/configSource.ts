/**
 * Config source: `serve` takes either the parsed JSON config or the path of a JSON file to read.
 */
import fs = require('node:fs')
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as IOE from 'fp-ts/IOEither'
import * as TE from 'fp-ts/TaskEither'
import type { ConfigJson } from '../core/config'
import { messageOf } from './os/errno'

/** A path to a JSON file, or the config object itself. */
export type ConfigInput = string | ConfigJson

export type ConfigSourceError =
  | { readonly _tag: 'ConfigUnreadable'; readonly path: string; readonly reason: string }
  | { readonly _tag: 'ConfigNotJson'; readonly path: string; readonly reason: string }

export const describeConfigSourceError = (e: ConfigSourceError): string => {
  switch (e._tag) {
    case 'ConfigUnreadable':
      return `cannot read the config file ${e.path}: ${e.reason}`
    case 'ConfigNotJson':
      return `the config file ${e.path} is not valid JSON: ${e.reason}`
  }
}


/** Reads synchronously: it is start-up, and a successor's start-up is on the handoff's critical path. */
export const readConfigSource = (input: ConfigInput): TE.TaskEither<ConfigSourceError, unknown> =>
  typeof input !== 'string'
    ? TE.right(input)
    : TE.fromIOEither(
        pipe(
          IOE.tryCatch(
            () => fs.readFileSync(input, 'utf8'),
            (err): ConfigSourceError => ({ _tag: 'ConfigUnreadable', path: input, reason: messageOf(err) }),
          ),
          IOE.flatMapEither((text) =>
            E.tryCatch(
              (): unknown => JSON.parse(text),
              (err): ConfigSourceError => ({ _tag: 'ConfigNotJson', path: input, reason: messageOf(err) }),
            ),
          ),
        ),
      )
