/**
 * The channel, the child's side (see core/wire/channel.ts): ready is written synchronously, in the same loop
 * turn as the listeners start, so a child killed before it is ready has accepted nothing. A child that
 * cannot start says why just before it exits, whether serve refused to start or the program threw
 * before serve ran: its parent puts the reason in its log line (and, later, in a restart's answer).
 */
import fs = require('node:fs')
import * as E from 'fp-ts/Either'
import { type ChildMessage, encodeChildMessage } from '../../core/wire/channel'
import { messageOf } from './errno'

export interface ReadyError {
  readonly _tag: 'ReadyUnsent'
  readonly fd: number
  readonly reason: string
}

export const describeReadyError = (e: ReadyError): string =>
  `could not tell the parent this process is ready (fd ${e.fd}): ${e.reason}; serving anyway`

let reported = false

const send = (fd: number, m: ChildMessage): void => {
  fs.writeSync(fd, encodeChildMessage(m))
}

/** Says ready; a successor then closes its end (`keepOpen` false), a worker keeps it for its supervisor. */
export const reportReady = (fd: number, keepOpen: boolean): E.Either<ReadyError, void> =>
  E.tryCatch(
    () => {
      reported = true
      try {
        send(fd, { _tag: 'Ready' })
      } finally {
        if (!keepOpen) fs.closeSync(fd)
      }
    },
    (err) => ({ _tag: 'ReadyUnsent' as const, fd, reason: messageOf(err) }),
  )

/** Says what this process waits for before it can be ready (the reason its parent gives if it times out). */
export const reportWaiting = (fd: number, reason: string): void => {
  if (reported) return
  try {
    send(fd, { _tag: 'Waiting', reason })
  } catch {
    // the parent is gone: nobody to tell
  }
}

/** Says why this process could not start (best effort: the parent also sees the exit). */
export const reportFailed = (fd: number, reason: string): void => {
  if (reported) return
  reported = true
  try {
    send(fd, { _tag: 'Failed', reason })
  } catch {
    // the parent is gone, or the fd is not the channel: the exit says enough
  }
}

/**
 * For a process started by a server: if it exits before it reported anything (the program threw while
 * loading, before serve ran), its last uncaught error is the reason.
 */
export const reportCrashAtExit = (fd: number): void => {
  let crash: unknown
  process.on('uncaughtExceptionMonitor', (err) => (crash = err))
  process.once('exit', () => {
    if (crash !== undefined) reportFailed(fd, `it threw: ${messageOf(crash)}`)
  })
}
