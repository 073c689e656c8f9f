/**
 * Raw sockets: each accepted socket goes to the user's handler; when the handler settles, the socket is
 * ended (as the gem's process_request closes it). A handler that throws, rejects or returns a Left is
 * logged with its connection and never crashes the server.
 * Ending sends our FIN; the connection stays open until the client closes its side too. While draining,
 * a finished connection whose client has not done so within `idleGraceMs` is closed, so a client that
 * keeps its side open (allowHalfOpen) cannot keep an old generation alive.
 */
import type { Socket } from 'node:net'
import * as E from 'fp-ts/Either'
import type { Logger } from 'pino'
import { type ConnectionContext, type Handler, type HandlerFailure, runHandler } from './handler'
import type { Config } from '../../core/config'
import type { ServerInfo } from '../options'
import { listenerOf } from './listenerOf'
import type { Log } from '../log/logger'
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

/** A connection's context; its logger is made on first use (most handlers never touch it). */
class Context implements ConnectionContext {
  private child: Logger | undefined
  constructor(
    readonly id: number,
    readonly generation: number,
    private readonly parent: Log,
    private readonly socket: Socket,
  ) {}

  get listener(): string | undefined {
    return listenerOf(this.socket)
  }

  get log(): Logger {
    return (this.child ??= this.parent.child({ connection: this.id }).pino())
  }
}

/** Where the client is, looked up only to log a failure (a TCP peer; a UNIX client, or a closed socket, has none). */
export const remoteOf = (socket: Socket): string =>
  socket.remoteAddress !== undefined ? `${socket.remoteAddress}:${String(socket.remotePort)}` : 'no address'

const finished = Symbol('uninterruptible.finished')
type Finishable = Socket & { [finished]?: true }

/** Closes a finished connection left half-open by its client once the grace has passed. */
const closeAfter = (socket: Socket, graceMs: number): void => {
  setTimeout(() => socket.destroy(), graceMs).unref() // the socket, while open, keeps the process alive
}

export const rawProtocol =
  <Err>(handler: Handler<Err>) =>
  ({ log, config, info }: { readonly log: Log; readonly config: Pick<Config, 'idleGraceMs'>; readonly info: ServerInfo }): Protocol => {
    const connections = log.child({ module: 'connection' })
    let draining = false
    return {
      serverOptions: {}, // Node's defaults, as a plain net.Server has
      accept: (socket: Finishable, id) => {
        void runHandler(handler, socket, new Context(id, info.generation, connections, socket))().then((result) => {
          if (E.isLeft(result)) {
            const remote = remoteOf(socket)
            connections.error(
              { event: 'handler-failed', connection: id, remote, ...failureFields(result.left) },
              `handler for connection ${id} (${remote}) ${describe(result.left)}`,
            )
          }
          socket.end()
          // discard what the handler left unread: a paused socket never sees the client's FIN, so it would never close
          socket.resume()
          socket[finished] = true
          if (draining) closeAfter(socket, config.idleGraceMs)
        })
      },
      started: () => undefined,
      stopped: () => undefined,
      drain: (open) => {
        draining = true
        for (const socket of open as readonly Finishable[]) if (socket[finished] === true) closeAfter(socket, config.idleGraceMs)
      },
    }
  }
