/**
 * The control socket, the caller's side: connect to a running server's control socket, send one request,
 * wait for the reply with its id (see shell/requestReply.ts). Used by the `uninterruptible` command and
 * by the API's control functions.
 */
import net = require('node:net')
import * as E from 'fp-ts/Either'
import type * as TE from 'fp-ts/TaskEither'
import { decodeReply, encodeRequest, type Op, type Reply } from '../../core/wire/control'
import type { Errno } from '../os/errno'
import { eachLine } from '../os/eachLine'
import { requestReply, type Unanswered } from '../requestReply'

/**
 * Why a control request (`restartServerTask`, `serverStatusTask`, `stopServerTask`) got no answer it
 * could use. `path` is the control socket's.
 *
 * @remarks
 * `NoServer`: nothing answers on the socket (no file: is the server running, with this `controlPath`?;
 * nobody accepting: a crashed server leaves its file; or permission denied). `NoReply`: the server did
 * not answer in time, closed without a reply, or replied with an error (another restart in progress, a
 * stop refused during a restart). `BadReply`: what came back is not a control reply. `NoControlPath`:
 * the config file cannot be read or sets no `controlPath`.
 */
export type ControlError =
  /** Nothing answers on the control socket, and why. */
  | { readonly _tag: 'NoServer'; readonly path: string; readonly reason: string }
  /** No usable reply: a timeout, a close, or the server's error message. */
  | { readonly _tag: 'NoReply'; readonly path: string; readonly reason: string }
  /** A reply that is not a control reply (`line`: what came). */
  | { readonly _tag: 'BadReply'; readonly path: string; readonly line: string }
  /** No control socket could be found in the config file `config`. */
  | { readonly _tag: 'NoControlPath'; readonly config: string; readonly reason: string }

/**
 * A {@link ControlError} in words, as the `uninterruptible` command prints it.
 *
 * @param e - the error
 */
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

export interface Conversation {
  readonly reply: Reply
  /** Settles when the server closes the connection (a stopping server does so as it exits). */
  readonly closed: Promise<void>
}

/** Why a request got no reply, as the caller is told. */
const unanswered = (path: string, u: Unanswered<ControlError>): ControlError =>
  u._tag === 'TimedOut' ? { _tag: 'NoReply', path, reason: `no reply within ${u.afterMs} ms` } : u.reason

/** Sends `op` and waits up to `timeoutMs` for the reply with its id. */
export const ask =
  (path: string, op: Op, timeoutMs: number): TE.TaskEither<ControlError, Conversation> =>
  () =>
    new Promise<E.Either<ControlError, Conversation>>((resolve) => {
      const socket = net.connect({ path })
      const closed = new Promise<void>((done) => socket.once('close', () => done()))
      const table = requestReply<Reply, ControlError>()
      let connected = false
      socket.once('connect', () => (connected = true))
      socket.on('error', (err: Errno) => table.close(connected ? { _tag: 'NoReply', path, reason: err.message } : { _tag: 'NoServer', path, reason: why(err) }))
      socket.once('close', () => table.close({ _tag: 'NoReply', path, reason: 'the server closed the connection without a reply' }))
      const lines = eachLine(socket, (line) => {
        const reply = decodeReply(line)
        if (E.isRight(reply)) {
          // a string id is none this client sent; null: the server could not read the request's id, and answers the one there is
          const { id } = reply.right
          if (typeof id !== 'string') table.answer(id ?? undefined, reply.right)
        } else {
          table.close({ _tag: 'BadReply', path, line })
          socket.destroy()
        }
      })
      table.ask(
        // written once connected (a socket keeps what is written while it connects)
        (id) => socket.write(encodeRequest({ id, op })),
        (settled) => {
          lines.close()
          if (E.isRight(settled)) resolve(E.right({ reply: settled.right, closed }))
          else {
            resolve(E.left(unanswered(path, settled.left)))
            if (settled.left._tag === 'TimedOut') socket.destroy()
          }
        },
        timeoutMs,
      )
    })
