/**
 * HTTP: accepted sockets are fed to an http.Server that never listens itself. Its drain avoids the
 * keep-alive race (closing an idle kept-alive connection while the client sends its next request on it):
 * - the listener is closed by the lifecycle; connections are not touched at that moment;
 * - every response not yet started, on every connection, carries `Connection: close`, and Node closes
 *   the connection after it: a busy client learns from the response itself and opens a new connection;
 * - a connection that stays idle for `idleGraceMs` is closed (its client has not sent anything);
 * - whatever is left at `drainTimeoutMs` is destroyed by the lifecycle.
 * An upgraded connection (WebSocket, CONNECT) belongs to the application from then on: it leaves this
 * bookkeeping and lives until it closes or the drain timeout.
 * `http.Server#close()` is never called: since Node 19 it closes idle keep-alive connections at once.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import * as TE from 'fp-ts/TaskEither'
import { loadHttp } from './lazy'
import type { Log } from './logger'
import type { Protocol } from './protocol'

/** A request listener, such as an Express app, or an http.Server that already has its listeners. */
export type HttpApp = RequestListener | Server

/** serveHttp was given something that is neither a request listener nor a plain `http.Server`. */
export interface UnsupportedServer {
  readonly _tag: 'UnsupportedServer'
  readonly got: string
}

export const describeUnsupportedServer = (e: UnsupportedServer): string =>
  `serveHttp takes a (req, res) listener or an http.Server, not ${e.got}; https.Server is not supported: terminate TLS in front of it (a proxy), or serve plain HTTP`

/** The http.Server to feed: the one given, or one made around the listener. Loads node:http. */
export const toServer = (app: HttpApp): TE.TaskEither<UnsupportedServer, Server> => {
  const http = loadHttp()
  if (typeof app === 'function') return TE.right(http.createServer(app))
  return app instanceof http.Server ? TE.right(app) : TE.left({ _tag: 'UnsupportedServer', got: (app as object).constructor.name || 'an object' })
}

interface Connection {
  readonly inFlight: Set<ServerResponse>
  idle: NodeJS.Timeout | undefined
}

export const httpProtocol =
  (server: Server, idleGraceMs: number) =>
  (log: Log): Protocol => {
    const connections = new Map<Socket, Connection>()
    let draining = false

    const closeWhenIdle = (socket: Socket, c: Connection): void => {
      clearTimeout(c.idle)
      if (c.inFlight.size > 0) return
      c.idle = setTimeout(() => socket.destroy(), idleGraceMs)
    }

    // runs before the application's own listener
    server.prependListener('request', (req: IncomingMessage, res: ServerResponse) => {
      const socket = req.socket
      const c = connections.get(socket)
      if (c === undefined) return
      clearTimeout(c.idle)
      c.inFlight.add(res)
      if (draining) res.setHeader('Connection', 'close')
      res.once('close', () => {
        c.inFlight.delete(res)
        if (draining) closeWhenIdle(socket, c)
      })
    })
    // Upgrades: our listener goes in only once the application listens for them itself, since with no
    // listener at all Node rightly destroys the socket
    const untrack = (_req: IncomingMessage, socket: Socket): void => {
      const c = connections.get(socket)
      if (c !== undefined) clearTimeout(c.idle)
      connections.delete(socket)
    }
    const hooked = new Set<string>()
    const hookUpgrades = (event: string | symbol): void => {
      if ((event !== 'upgrade' && event !== 'connect') || hooked.has(event)) return
      hooked.add(event)
      server.prependListener(event, untrack)
    }
    for (const event of ['upgrade', 'connect'] as const) if (server.listenerCount(event) > 0) hookUpgrades(event)
    server.on('newListener', hookUpgrades)

    // a real listen would emit this; Node starts its request and header timeout checks on it
    server.emit('listening')
    log.debug({ event: 'http-ready', idleGraceMs }, 'HTTP server attached')

    return {
      accept: (socket) => {
        const c: Connection = { inFlight: new Set(), idle: undefined }
        connections.set(socket, c)
        socket.once('close', () => {
          clearTimeout(c.idle)
          connections.delete(socket)
        })
        if (draining) closeWhenIdle(socket, c)
        server.emit('connection', socket)
      },
      drain: () => {
        draining = true
        for (const [socket, c] of connections) {
          for (const res of c.inFlight) if (!res.headersSent) res.setHeader('Connection', 'close')
          closeWhenIdle(socket, c)
        }
      },
    }
  }
