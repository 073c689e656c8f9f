/**
 * HTTP: accepted sockets are fed to an http.Server that never listens itself. Its drain avoids the
 * keep-alive race (closing an idle kept-alive connection while the client sends its next request on it):
 * - the listener is closed by the lifecycle; connections are not touched at that moment;
 * - the response to the last request received on a connection carries `Connection: close`, and Node
 *   closes the connection after it: a busy client learns from the response itself and opens a new
 *   connection. Requests pipelined behind it are answered first: the mark moves to the newest request
 *   while its predecessor has not started its response, and during a drain the application sees each
 *   request one tick late, once the requests that arrived together have all been read. A request that
 *   arrives after a `close` response has started is never run (Node would drop its answer): the
 *   connection closes with it unanswered, which tells the client to send it again elsewhere;
 * - a connection that stays idle for `idleGraceMs` is closed (its client has sent nothing in that time);
 * - whatever is left at `drainTimeoutMs` is destroyed by the lifecycle.
 * An upgraded connection (WebSocket, CONNECT) belongs to the application from then on: it leaves this
 * bookkeeping and lives until it closes or the drain timeout.
 * The application's request listeners are called by one listener of ours (so a drain can hold a request
 * back); a listener that throws is logged and its request answered 500.
 * `http.Server#close()` is never called: since Node 19 it closes idle keep-alive connections at once.
 */
import type { IncomingMessage, RequestListener, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import * as TE from 'fp-ts/TaskEither'
import { loadHttp, loadTls, once } from '../os/lazy'
import type { Log } from '../log/logger'
import type { Protocol } from './protocol'

/** A request listener, such as an Express app, or an http.Server that already has its listeners. */
export type HttpApp = RequestListener | Server

/**
 * `serveHttp` was given something that is neither a request listener nor a plain `http.Server`.
 *
 * @remarks
 * Give it a `(req, res)` listener (an Express app is one) or an `http.Server`. An `https.Server` is
 * refused: the library accepts the connections itself, so give it the request listener and set `tls`
 * in the config.
 */
export interface UnsupportedServer {
  /** Tags this error in {@link ServeError}. */
  readonly _tag: 'UnsupportedServer'
  /** What it was given: `https.Server`, or the name of the object's class. */
  readonly got: string
}

export const describeUnsupportedServer = (e: UnsupportedServer): string =>
  e.got === 'https.Server'
    ? 'serveHttp was given an https.Server, which it cannot serve: the library accepts the connections itself (and does TLS when the config sets `tls`), so give it the request listener or a plain http.Server, and set `tls` in the config'
    : `serveHttp takes a (req, res) listener or an http.Server, not ${e.got}`

/** The http.Server to feed, and the application's listener when the server is ours to make. */
export interface HttpTarget {
  readonly server: Server
  readonly listener: RequestListener | undefined
}

const nameOf = (app: object): string => {
  if (app instanceof loadTls().Server) return 'https.Server'
  return app.constructor.name || 'an object'
}

/** The server given, or a new one for the listener. Loads node:http. */
export const toServer = (app: HttpApp): TE.TaskEither<UnsupportedServer, HttpTarget> => {
  const http = loadHttp()
  if (typeof app === 'function') return TE.right({ server: http.createServer({ ServerResponse: forgettingResponse() }), listener: app })
  return app instanceof http.Server ? TE.right({ server: app, listener: undefined }) : TE.left({ _tag: 'UnsupportedServer', got: nameOf(app) })
}

/**
 * What the drain needs to know of a connection lives on its socket: nothing is kept per connection in
 * steady state but the response in flight (one property write per request, cleared when it finishes),
 * since the drain finds the open sockets in the lifecycle's list when it begins. The rest appears only
 * once a drain does. A finished response must not stay on its socket: on a kept-alive connection (an old
 * object) it would live until the next request and survive young collections, which made every later
 * request cost more (docs/ARCHITECTURE.md, "The cost of a request").
 */
const CURRENT = Symbol('uninterruptible.http.current')
const CLOSING = Symbol('uninterruptible.http.closing')
const IDLE = Symbol('uninterruptible.http.idle')
const UPGRADED = Symbol('uninterruptible.http.upgraded')

interface Tracked extends Socket {
  /** The latest response on this connection while it is being written (responses finish in order, so it tells for all of them). */
  [CURRENT]?: ServerResponse | undefined
  /** The response a drain marked `Connection: close`. */
  [CLOSING]?: ServerResponse
  [IDLE]?: NodeJS.Timeout
  /** It left HTTP (a WebSocket, CONNECT): the application's from then on. */
  [UPGRADED]?: true
}

/** A response is in flight until it has finished writing. */
const busy = (socket: Tracked): boolean => socket[CURRENT] !== undefined && !socket[CURRENT].writableFinished

const markClosing = (socket: Tracked, res: ServerResponse): void => {
  const before = socket[CLOSING]
  if (before !== undefined && before !== res && !before.headersSent && before.getHeader('connection') === 'close') before.removeHeader('connection')
  res.setHeader('Connection', 'close')
  socket[CLOSING] = res
}

const forgetOn = (socket: Tracked, res: ServerResponse): void => {
  if (socket[CURRENT] === res) socket[CURRENT] = undefined
}

// shared, `this` is the response: once written, its socket no longer holds it (see CURRENT)
function forget(this: ServerResponse): void {
  forgetOn(this.req.socket, this)
}

/**
 * The responses of a server the library makes: Node detaches each one from its socket when it has
 * finished (`detachSocket`, a method since Node 0.x; were it ever gone, a finished response would only
 * stay on its socket until the next request, as `busy` does not depend on it).
 */
const forgettingResponse = once(
  () =>
    class ForgettingResponse extends loadHttp().ServerResponse {
      override detachSocket(socket: Socket): void {
        forgetOn(socket, this)
        super.detachSocket(socket)
      }
    },
)

/**
 * After the application has had the request: a response that will not take itself off its socket (one of
 * an application's own http.Server, or one whose prototype the application replaced, as Express does) gets
 * a shared 'finish' listener instead. Only those pay for it: a second 'finish' listener makes each
 * 'finish' copy its listener array, about 3 % of a kept-alive request.
 */
const forgetWhenFinished = (socket: Tracked, res: ServerResponse): void => {
  if (res.detachSocket === forgettingResponse().prototype.detachSocket) return
  if (res.writableFinished) forgetOn(socket, res)
  else res.on('finish', forget)
}

// shared, `this` is the socket: a closed connection's idle timer goes with it
function clearIdle(this: Tracked): void {
  clearTimeout(this[IDLE])
}

/**
 * Takes over the application's request listeners: ours calls them. Ones added later are moved over
 * too, a tick after they are added (EventEmitter tells before it adds).
 */
const takeListeners = (server: Server, own: RequestListener, first: RequestListener | undefined): RequestListener[] => {
  const app = first !== undefined ? [first] : (server.listeners('request') as RequestListener[])
  server.removeAllListeners('request')
  server.on('request', own)
  server.on('newListener', (event: string | symbol, listener: RequestListener) => {
    if (event !== 'request' || listener === own) return
    process.nextTick(() => {
      server.removeListener('request', listener)
      app.push(listener)
    })
  })
  return app
}

export const httpProtocol =
  ({ server, listener }: HttpTarget, idleGraceMs: number) =>
  (log: Log): Protocol => {
    let draining = false

    // idle: nothing read for a whole grace period; a request arriving in parts keeps it open
    const closeWhenIdle = (socket: Tracked): void => {
      if (socket[IDLE] === undefined) socket.once('close', clearIdle)
      clearTimeout(socket[IDLE])
      if (busy(socket)) return
      const read = socket.bytesRead
      socket[IDLE] = setTimeout(() => (socket.bytesRead === read ? socket.destroy() : closeWhenIdle(socket)), idleGraceMs)
    }

    // Only while draining, on responses in flight; shared: `this` is the response.
    function onResponseClose(this: ServerResponse): void {
      const socket: Tracked = this.req.socket
      if (socket[UPGRADED] !== true) closeWhenIdle(socket)
    }

    const dispatch = (req: IncomingMessage, res: ServerResponse): void => {
      for (const l of app) {
        try {
          l.call(server, req, res)
        } catch (err) {
          log.error({ event: 'request-failed', method: req.method ?? null, url: req.url ?? null, err }, `request listener threw: ${err instanceof Error ? err.message : String(err)}`)
          if (!res.headersSent) {
            res.statusCode = 500
            res.end()
          } else res.destroy()
          return
        }
      }
    }

    // Per request: in steady state it notes the response and calls the application; a drain looks at
    // the noted responses when it starts, and holds each request a tick (see the module comment).
    const onRequest = (req: IncomingMessage, res: ServerResponse): void => {
      const socket: Tracked = req.socket
      socket[CURRENT] = res
      if (!draining) {
        dispatch(req, res)
        forgetWhenFinished(socket, res)
        return
      }
      clearTimeout(socket[IDLE])
      if (socket[CLOSING]?.headersSent === true) {
        log.debug({ event: 'request-unanswered', url: req.url ?? null }, 'a request pipelined behind a closing response is left for the client to send again')
        return
      }
      markClosing(socket, res)
      res.on('close', onResponseClose)
      process.nextTick(dispatch, req, res)
    }
    const app = takeListeners(server, onRequest, listener)

    // Upgrades: our listener goes in only once the application listens for them itself, since with no
    // listener at all Node rightly destroys the socket
    const untrack = (_req: IncomingMessage, socket: Tracked): void => {
      clearTimeout(socket[IDLE])
      socket[UPGRADED] = true
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
        if (draining) closeWhenIdle(socket)
        server.emit('connection', socket)
      },
      // as a real server closes: 'close' is emitted, and Node's request-timeout checks stop (no connection is left)
      stopped: () => {
        server.close()
      },
      // a real listen would emit this; Node starts its request and header timeout checks on it
      started: () => {
        server.emit('listening')
        log.debug({ event: 'http-ready', idleGraceMs }, 'HTTP server attached')
      },
      drain: (open) => {
        draining = true
        const sockets: readonly Tracked[] = open
        for (const socket of sockets) {
          if (socket[UPGRADED] === true) continue
          const res = socket[CURRENT]
          if (res !== undefined && busy(socket)) {
            if (!res.headersSent) markClosing(socket, res)
            res.on('close', onResponseClose)
          } else closeWhenIdle(socket)
        }
      },
    }
  }
