/**
 * Readiness, the successor's side: one byte on the pipe the parent gave it, then the pipe is closed.
 * Synchronous on purpose: written in the same loop turn as 'listening', before any connection can be
 * accepted, so a successor that is killed before it is ready has accepted nothing.
 */
import * as fs from 'node:fs'
import * as E from 'fp-ts/Either'
import { messageOf } from './errno'

export interface ReadyError {
  readonly _tag: 'ReadyUnsent'
  readonly fd: number
  readonly reason: string
}

export const describeReadyError = (e: ReadyError): string =>
  `could not tell the parent this process is ready (fd ${e.fd}): ${e.reason}; serving anyway`

export const signalReady = (fd: number): E.Either<ReadyError, void> =>
  E.tryCatch(
    () => {
      try {
        fs.writeSync(fd, 'R')
      } finally {
        fs.closeSync(fd)
      }
    },
    (err) => ({ _tag: 'ReadyUnsent' as const, fd, reason: messageOf(err) }),
  )
