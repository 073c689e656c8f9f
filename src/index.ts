/**
 * uninterruptible: zero-downtime restarts for Node.js socket servers. `serve(config, handler)` runs a
 * server (`serveHttp(config, app)` an HTTP one); SIGUSR1 starts a new copy that inherits the listening
 * socket, and the old one drains and exits. SIGTERM/SIGINT drain and exit; a second one exits at once.
 * Also here: checking a config (`validateConfig`), and controlling a running server from a program
 * (`restartServer`, `serverStatus`, `stopServer`).
 *
 * @packageDocumentation
 */
import './shell/os/boot' // first: signal listeners and the environment scrub must happen at load time
import type * as TE from 'fp-ts/TaskEither'
import type { ConfigJson } from './core/config'
import type { ServeError } from './modes/errors'
import type { Stopped } from './modes/prepare'
import { runMain } from './program'
import { serveProtocol } from './modes/serve'
import type { ServeOptions } from './shell/options'
import type { ConfigInput } from './shell/configSource'
import type { Handler } from './shell/protocol/handler'
import { rawProtocol } from './shell/protocol/raw'

export type { Bind, Binds, Tcp as TcpBind, Unix as UnixBind } from './core/bind'
export type { Cidr } from './core/cidr'
export type { Problem } from './core/codec'
export type {
  ClientCertificates,
  CompileCache,
  Config,
  ConfigError,
  ConfigJson,
  FileMode,
  FileModeBrand,
  LogLevel,
  Milliseconds,
  MillisecondsBrand,
  TlsConfig,
  TlsConfigJson,
  WorkerCount,
} from './core/config'
export type { DrainReason } from './core/lifecycle'
export type { RestartSignal } from './core/signal'
export { describeServeError, type ProcessRefused, type ServeError } from './modes/errors'
// the members of ServeError, from the modules that fail with them
export type { UnsupportedNode } from './core/nodeVersion'
export type { InheritError } from './core/wire/inherit'
export type { ConfigSourceError } from './shell/configSource'
export type { ListenError } from './shell/listener'
export type { LogError } from './shell/log/logger'
export type { PidfileError } from './shell/os/pidfile'
export type { PidfileHeld } from './shell/os/pidlock'
export type { SignalBlocked } from './shell/os/sigmask'
export type { UnsupportedServer } from './shell/protocol/http'
export type { TlsError, TlsKey } from './shell/protocol/tls'
export * from './remote'
export { type HttpApp, serveHttp, serveHttpTask } from './http'
export type { DrainInfo, ExitInfo, ServeOptions, ServerInfo } from './shell/options'
export { serverInfo } from './modes/current'
export type { Stopped } from './modes/prepare'
export type { ConfigInput } from './shell/configSource'
export type { ConnectionContext, Handler, HandlerFailure, HandlerResult } from './shell/protocol/handler'
export type { Logger } from './shell/log/logger'
export { listenerOf } from './shell/protocol/listenerOf'
export { readLine } from './shell/protocol/readLine'
export {
  assertConfig,
  type ConfigValidationError,
  describeConfigValidationError,
  InvalidConfigError,
  validateConfig,
  validateConfigTask,
  type ValidateOptions,
} from './validate'
export type { ConfigProblem } from './core/config'

/**
 * The config object `serve`, `serveTask`, `serveHttp` and `serveHttpTask` take (the config file's shape):
 * every key optional, durations as plain numbers of milliseconds, `socketMode` as an octal string.
 * The same type as {@link ConfigJson}, where each key is described.
 */
export type ServeConfig = ConfigJson

/**
 * For fp-ts users: the server as a TaskEither. It completes when this process has stopped (drained
 * after a handoff or a stop signal), with the exit code to use, or fails with why it could not start.
 * Running it does not exit the process; `serve` does.
 *
 * @param config - the path of the JSON config file, or the config object (see {@link ConfigJson})
 * @param handler - runs for each accepted socket; a failure (a throw, a rejection, a `Left`) is logged, and the socket ended
 * @param options - the application's logger, and hooks into this process's life
 * @returns a task that completes with the exit code to use, or fails with why the server could not start
 *
 * @example
 * ```ts
 * import { pipe } from 'fp-ts/function'
 * import * as TE from 'fp-ts/TaskEither'
 * import { describeServeError, serveTask } from 'uninterruptible'
 *
 * const program = pipe(
 *   serveTask('config.json', handle), // handle: (socket) => TaskEither<MyError, void>
 *   TE.match(
 *     (error) => {
 *       console.error(describeServeError(error))
 *       return 1
 *     },
 *     (stopped) => stopped.code,
 *   ),
 * )
 * void program().then((code) => process.exit(code))
 * ```
 */
export const serveTask = <E>(config: ConfigInput, handler: Handler<E>, options: ServeOptions = {}): TE.TaskEither<ServeError, Stopped> =>
  serveProtocol(config, rawProtocol(handler), options, false)

/**
 * Runs the server as this process's program: `config` is a path to a JSON file or the config object;
 * `handler` gets each accepted socket, and the socket is ended when the handler settles; `options` may
 * give the application's logger and hooks. The process exits when the server has stopped; a server
 * that cannot start prints why and exits 1.
 *
 * @param config - the path of the JSON config file, or the config object (see {@link ConfigJson})
 * @param handler - runs for each accepted socket; the socket is ended once what it returns settles
 * @param options - the application's logger, and hooks into this process's life
 * @returns a promise that never settles: the process exits
 *
 * @remarks
 * The restart signal (SIGUSR1 by default) starts new code that takes over the listening sockets; once
 * the new process has passed its probation, this one drains and exits. SIGTERM and SIGINT drain and
 * exit 0; a second one exits at once (143 or 130). A process serves one config: a second call is
 * refused, and the first goes on serving.
 *
 * @example
 * An echo server:
 * ```ts
 * import { readLine, serve } from 'uninterruptible'
 *
 * void serve({ bind: 'tcp://0.0.0.0:7000', drainTimeoutMs: 30000 }, async (socket, { log }) => {
 *   const line = await readLine(socket)
 *   log.info({ bytes: line.length }, 'echo')
 *   socket.write(line)
 * }) // the socket is ended once the handler's promise settles
 * ```
 */
export const serve = <E>(config: ConfigInput, handler: Handler<E>, options: ServeOptions = {}): Promise<never> =>
  runMain(serveProtocol(config, rawProtocol(handler), options, true))
