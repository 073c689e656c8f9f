/**
 * HTTP: accepted sockets are fed to an http.Server that never listens itself. Its drain avoids the
 * keep-alive race (closing an idle kept-alive connection while the client sends its next request on it):
 * - the listener is closed by the lifecycle; connections are not touched at that moment;
 * - every response not yet started, on every connection, carries `Connection: close`, and Node closes
 *   the connection after it: a busy client learns from the response itself and opens a new connection;
 * - a connection that stays idle for `idleGraceMs` is closed (its client has sent nothing in that time);
 * - whatever is left at `drainTimeoutMs` is destroyed by the lifecycle.
 * An upgraded connection (WebSocket, CONNECT) belongs to the application from then on: it leaves this
 * bookkeeping and lives until it closes or the drain timeout.
 * `http.Server#close()` is never called: since Node 19 it closes idle keep-alive connections at once.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import * as TE from 'fp-ts/TaskEither'
import { loadHttp } from '../os/lazy'
import type { Log } from '../logger'
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

/** The http.Server to feed, and the application's listener when the server is ours to make. */
export interface HttpTarget {
  readonly server: Server
  readonly listener: RequestListener | undefined
}

/** The server given, or a new one for the listener (registered later, as one listener with ours). Loads node:http. */
export const toServer = (app: HttpApp): TE.TaskEither<UnsupportedServer, HttpTarget> => {
  const http = loadHttp()
  if (typeof app === 'function') return TE.right({ server: http.createServer(), listener: app })
  return app instanceof http.Server
    ? TE.right({ server: app, listener: undefined })
    : TE.left({ _tag: 'UnsupportedServer', got: (app as object).constructor.name || 'an object' })
}

interface Connection {
  /** The latest response on this connection (responses finish in order, so it tells for all of them). */
  current: ServerResponse | undefined
  idle: NodeJS.Timeout | undefined
}

/** A response is in flight until it has finished writing. */
const busy = (c: Connection): boolean => c.current !== undefined && !c.current.writableFinished

export const httpProtocol =
  ({ server, listener }: HttpTarget, idleGraceMs: number) =>
  (log: Log): Protocol => {
    const connections = new Map<Socket, Connection>()
    let draining = false

    // idle: nothing read for a whole grace period; a request arriving in parts keeps it open
    const closeWhenIdle = (socket: Socket, c: Connection): void => {
      clearTimeout(c.idle)
      if (busy(c)) return
      const read = socket.bytesRead
      c.idle = setTimeout(() => (socket.bytesRead === read ? socket.destroy() : closeWhenIdle(socket, c)), idleGraceMs)
    }

    // Only while draining, on responses in flight; shared: `this` is the response.
    function onResponseClose(this: ServerResponse): void {
      const socket = this.req.socket
      const c = connections.get(socket)
      if (c !== undefined) closeWhenIdle(socket, c)
    }
    // Per request: in steady state it only notes the response; a drain looks at it when it starts.
    const track = (req: IncomingMessage, res: ServerResponse): void => {
      const c = connections.get(req.socket)
      if (c === undefined) return
      c.current = res
      if (!draining) return
      clearTimeout(c.idle)
      res.setHeader('Connection', 'close')
      res.on('close', onResponseClose)
    }
    // before the application's own listener; one listener when the server is ours (an emit with two
    // listeners copies them on every request)
    if (listener !== undefined) {
      server.on('request', (req: IncomingMessage, res: ServerResponse) => {
        track(req, res)
        listener(req, res)
      })
    } else server.prependListener('request', track)
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

    return {
      // what http.Server gives its own sockets: half-open allowed (its httpAllowHalfOpen option needs it), no Nagle
      serverOptions: { allowHalfOpen: true, noDelay: true },
      accept: (socket) => {
        const c: Connection = { current: undefined, idle: undefined }
        connections.set(socket, c)
        socket.once('close', () => {
          clearTimeout(c.idle)
          connections.delete(socket)
        })
        if (draining) closeWhenIdle(socket, c)
        server.emit('connection', socket)
      },
      // a real listen would emit this; Node starts its request and header timeout checks on it
      started: () => {
        server.emit('listening')
        log.debug({ event: 'http-ready', idleGraceMs }, 'HTTP server attached')
      },
      drain: () => {
        draining = true
        for (const [socket, c] of connections) {
          const res = c.current
          if (res !== undefined && busy(c)) {
            if (!res.headersSent) res.setHeader('Connection', 'close')
            res.on('close', onResponseClose)
          } else closeWhenIdle(socket, c)
        }
      },
    }
  }
