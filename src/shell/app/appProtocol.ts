/**
 * What is done with the connections of a configured address that an unchanged application's server
 * serves (`uninterruptible run`): they are handed to that server as it would have accepted them. An HTTP
 * or HTTPS server gets the keep-alive drain `serveHttp` gives (shell/protocol/http.ts); any other server
 * (a plain `net` server, TLS, HTTP/2) gets its connections and drains as its own code closes them.
 */
import type { Server as HttpServer } from 'node:http'
import type { Server, Socket } from 'node:net'
import type { Log } from '../log/logger'
import { loadHttp, loadHttps } from '../os/lazy'
import { httpProtocol } from '../protocol/http'
import type { Protocol } from '../protocol/protocol'

/** Whether the server answers HTTP requests ('request' events): an http.Server or an https.Server. */
export const speaksHttp = (server: Server): server is HttpServer => server instanceof loadHttp().Server || server instanceof loadHttps().Server

/** An option Node keeps on the server it was created with (its typings do not list them). */
const option = (server: Server, key: 'allowHalfOpen' | 'pauseOnConnect' | 'noDelay'): boolean => Reflect.get(server, key) === true

/** The application's server as the protocol of the listener that serves it. */
export const appProtocol = (app: Server, idleGraceMs: number, log: Log): Protocol => {
  // the listener accepts as the application's server would have
  const options = { allowHalfOpen: option(app, 'allowHalfOpen'), pauseOnConnect: option(app, 'pauseOnConnect'), noDelay: option(app, 'noDelay') }
  if (speaksHttp(app)) {
    const http = httpProtocol({ server: app, listener: undefined }, idleGraceMs)(log)
    return {
      ...http,
      serverOptions: options,
      // the application's server gets 'listening' and 'close' from its adoption (see appServer.ts)
      started: () => undefined,
      stopped: () => undefined,
    }
  }
  return {
    serverOptions: options,
    accept: (socket: Socket) => {
      app.emit('connection', socket)
    },
    started: () => undefined,
    drain: () => undefined,
    stopped: () => undefined,
  }
}
