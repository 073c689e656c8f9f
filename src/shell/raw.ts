/**
 * Raw sockets: each accepted socket goes to the user's handler; when the handler settles, the socket is
 * ended (as the gem's process_request closes it). A handler that throws, rejects or returns a Left is
 * logged with its connection and never crashes the server.
 */
import * as E from 'fp-ts/Either'
import { type ConnectionContext, type Handler, type HandlerFailure, runHandler } from './handler'
import type { Logger } from 'pino'
import type { Log } from './logger'
import type { Protocol } from './protocol'

const failureFields = <Err>(f: HandlerFailure<Err>): Record<string, unknown> => {
  switch (f._tag) {
    case 'Threw':
      return { failure: 'threw', err: f.error }
    case 'Rejected':
      return { failure: 'rejected', err: f.error }
    case 'ReturnedLeft':
      return { failure: 'returned-left', error: f.error }
  }
}

const text = (u: unknown): string => {
  if (u instanceof Error) return u.message
  if (typeof u === 'string') return u
  const json = JSON.stringify(u) as string | undefined // undefined for functions and symbols
  return json ?? String(u)
}

const describe = <Err>(f: HandlerFailure<Err>): string => {
  switch (f._tag) {
    case 'Threw':
      return `threw: ${text(f.error)}`
    case 'Rejected':
      return `rejected: ${text(f.error)}`
    case 'ReturnedLeft':
      return `returned a Left: ${text(f.error)}`
  }
}

export const rawProtocol =
  <Err>(handler: Handler<Err>) =>
  (log: Log): Protocol => {
    const connections = log.child({ module: 'connection' })
    return {
      accept: (socket, id) => {
        const remote = socket.remoteAddress !== undefined ? `${socket.remoteAddress}:${String(socket.remotePort)}` : 'unix socket'
        let child: Logger | undefined
        const context: ConnectionContext = {
          id,
          get log() {
            return (child ??= connections.child({ connection: id }).pino())
          },
        }
        void runHandler(handler, socket, context)().then((result) => {
          if (E.isLeft(result)) {
            connections.error(
              { event: 'handler-failed', connection: id, remote, ...failureFields(result.left) },
              `handler for connection ${id} (${remote}) ${describe(result.left)}`,
            )
          }
          socket.end()
        })
      },
      drain: () => undefined,
    }
  }
