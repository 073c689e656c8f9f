/**
 * The control socket, the caller's side: connect to a running server's control socket, send one request,
 * read its one reply. Used by the `uninterruptible` command and by the API's control functions.
 */
import net = require('node:net')
import type * as E from 'fp-ts/Either'
import type * as TE from 'fp-ts/TaskEither'
import type { Op } from '../../core/wire/control'
import type { Errno } from '../os/errno'
import { eachLine } from '../os/eachLine'

export type ControlError =
  | { readonly _tag: 'NoServer'; readonly path: string; readonly reason: string }
  | { readonly _tag: 'NoReply'; readonly path: string; readonly reason: string }
  | { readonly _tag: 'BadReply'; readonly path: string; readonly line: string }
  | { readonly _tag: 'NoControlPath'; readonly config: string; readonly reason: string }

export const describeControlError = (e: ControlError): string => {
  switch (e._tag) {
    case 'NoServer':
      return `no server answers on the control socket ${e.path}: ${e.reason}`
    case 'NoReply':
      return `the server at ${e.path} gave no reply: ${e.reason}`
    case 'BadReply':
      return `the server at ${e.path} replied with something that is not a control reply: ${e.line.slice(0, 200)}`
    case 'NoControlPath':
      return `cannot find the control socket in ${e.config}: ${e.reason}`
  }
}

const why = (err: Errno): string => {
  switch (err.code) {
    case 'ENOENT':
      return 'the socket file does not exist (is the server running, with this controlPath?)'
    case 'ECONNREFUSED':
      return 'nobody accepts on it (a server that crashed leaves its socket file)'
    case 'EACCES':
    case 'EPERM':
      return 'permission denied: the control socket belongs to the user the server runs as'
    default:
      return err.message
  }
}

/** A reply, parsed: a JSON object with `ok`. */
export type RawReply = Readonly<Record<string, unknown>> & { readonly ok: boolean }

export interface Conversation {
  readonly reply: RawReply
  /** Settles when the server closes the connection (a stopping server does so as it exits). */
  readonly closed: Promise<void>
}

/** Sends `op` and waits up to `timeoutMs` for the reply. */
export const ask =
  (path: string, op: Op, timeoutMs: number): TE.TaskEither<ControlError, Conversation> =>
  () =>
    new Promise<E.Either<ControlError, Conversation>>((resolve) => {
      const socket = net.connect({ path })
      let answered = false
      const closed = new Promise<void>((done) => socket.once('close', () => done()))
      const settle = (e: E.Either<ControlError, Conversation>): void => {
        if (answered) return
        answered = true
        clearTimeout(timer)
        resolve(e)
      }
      const timer = setTimeout(() => {
        settle({ _tag: 'Left', left: { _tag: 'NoReply', path, reason: `no reply within ${timeoutMs} ms` } })
        socket.destroy()
      }, timeoutMs)
      let connected = false
      socket.once('connect', () => {
        connected = true
        socket.write(`${JSON.stringify({ id: 1, op })}\n`)
      })
      socket.on('error', (err: Errno) => {
        settle({ _tag: 'Left', left: connected ? { _tag: 'NoReply', path, reason: err.message } : { _tag: 'NoServer', path, reason: why(err) } })
      })
      socket.once('close', () => settle({ _tag: 'Left', left: { _tag: 'NoReply', path, reason: 'the server closed the connection without a reply' } }))
      const rl = eachLine(socket, (line) => {
        rl.close()
        let u: unknown
        try {
          u = JSON.parse(line)
        } catch {
          u = undefined
        }
        if (typeof u === 'object' && u !== null && typeof (u as { ok?: unknown }).ok === 'boolean') {
          settle({ _tag: 'Right', right: { reply: u as RawReply, closed } })
        } else {
          settle({ _tag: 'Left', left: { _tag: 'BadReply', path, line } })
          socket.destroy()
        }
      })
    })
