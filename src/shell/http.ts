/**
 * HTTP: accepted sockets are fed to an http.Server that never listens itself. Its drain avoids the
 * keep-alive race (closing an idle kept-alive connection while the client sends its next request on it):
 * - the listener is closed by the lifecycle; connections are not touched at that moment;
 * - every response not yet started, on every connection, carries `Connection: close`, and Node closes
 *   the connection after it: a busy client learns from the response itself and opens a new connection;
 * - a connection that stays idle for `idleGraceMs` is closed (its client has not sent anything);
 * - whatever is left at `drainTimeoutMs` is destroyed by the lifecycle.
 * `http.Server#close()` is never called: since Node 19 it closes idle keep-alive connections at once.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
import type { Log } from './logger'
import type { Protocol } from './protocol'

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
