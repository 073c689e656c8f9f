/**
 * HTTP servers: any `(req, res)` listener (an Express app is one) or an existing `http.Server`
 * (Fastify's `fastify.server`, for instance) is served on the listening socket, with a keep-alive drain
 * that does not race clients (see shell/protocol/http.ts). `node:http` is loaded only when this is used.
 */
import { pipe } from 'fp-ts/function'
import * as TE from 'fp-ts/TaskEither'
import type { ServeError } from './modes/errors'
import type { Stopped } from './modes/prepare'
import { runMain } from './program'
import { serveProtocol } from './modes/serve'
import type { ServeOptions } from './shell/options'
import type { ConfigInput } from './shell/configSource'
import { type HttpApp, httpProtocol, toServer } from './shell/protocol/http'

export type { HttpApp } from './shell/protocol/http'

const serveHttpWith = (config: ConfigInput, app: HttpApp, options: ServeOptions, exits: boolean): TE.TaskEither<ServeError, Stopped> =>
  pipe(
    TE.Do,
    TE.flatMap(() => toServer(app)),
    TE.flatMap((target) => serveProtocol(config, ({ log, config: c }) => httpProtocol(target, c.idleGraceMs)(log), options, exits)),
  )

/**
 * For fp-ts users: like `serveTask`, for HTTP. Never calls `process.exit`.
 *
 * @param config - the path of the JSON config file, or the config object (see {@link ConfigJson})
 * @param app - a `(req, res)` listener, or an `http.Server` that has its listeners
 * @param options - the application's logger, and hooks into this process's life
 * @returns a task that completes with the exit code to use, or fails with why the server could not start
 */
export const serveHttpTask = (config: ConfigInput, app: HttpApp, options: ServeOptions = {}): TE.TaskEither<ServeError, Stopped> =>
  serveHttpWith(config, app, options, false)

/**
 * Runs an HTTP server as this process's program, with zero-downtime restarts on SIGUSR1. Do not call
 * `listen` yourself: the library listens (or inherits the socket) and feeds connections to the server,
 * which gets 'listening' once this process serves and 'close' once its drain is over.
 *
 * @param config - the path of the JSON config file, or the config object (see {@link ConfigJson})
 * @param app - a `(req, res)` listener (an Express app is one), or an `http.Server` that has its listeners (Fastify's `app.server`)
 * @param options - the application's logger, and hooks into this process's life
 * @returns a promise that never settles: the process exits
 *
 * @remarks
 * While draining, the next request on each kept-alive connection is answered with `Connection: close`,
 * and a connection on which nothing arrives for `idleGraceMs` is closed: no request is lost to the
 * keep-alive race. With `tls` in the config it serves HTTPS (give it a plain listener or `http.Server`,
 * never an `https.Server`). Like `serve`, the process exits when the server has stopped, and a server
 * that cannot start prints why and exits 1.
 *
 * @example
 * An Express app (a `(req, res)` listener), restarted with `kill -USR1 <pid>` or `uninterruptible restart`:
 * ```ts
 * import express from 'express'
 * import { serveHttp } from 'uninterruptible'
 *
 * const app = express()
 * app.get('/', (_req, res) => res.send('hello'))
 * void serveHttp('config.json', app, {
 *   onExit: async () => {
 *     await db.end() // close pools once every connection has closed
 *   },
 * })
 * ```
 */
export const serveHttp = (config: ConfigInput, app: HttpApp, options: ServeOptions = {}): Promise<never> => runMain(serveHttpWith(config, app, options, true))
