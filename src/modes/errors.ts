/**
 * Start-up errors: the union of every module's error where they meet in `serve`, and one function that
 * renders any of them for a person.
 */
import { type ConfigError, describeConfigError } from '../core/config'
import { describeInheritError, type InheritError } from '../core/wire/inherit'
import { type ConfigSourceError, describeConfigSourceError } from '../shell/configSource'
import { describeUnsupportedServer, type UnsupportedServer } from '../shell/protocol/http'
import { describeTlsError, type TlsError } from '../shell/protocol/tls'
import { describeListenError, type ListenError } from '../shell/listener'
import { describeLogError, type LogError } from '../shell/log/logger'
import { describePidfileError, type PidfileError } from '../shell/os/pidfile'
import { describePidfileHeld, type PidfileHeld } from '../shell/os/pidlock'
import { describeUnsupportedNode, type UnsupportedNode } from '../core/nodeVersion'
import { describeSignalBlocked, type SignalBlocked } from '../shell/os/sigmask'

/**
 * This process may not serve this config.
 *
 * @remarks
 * `AlreadyServing`: `serve` was called a second time in this process (the first call goes on serving):
 * give one config several addresses in `bind` instead. `ClusterWorker`: `serve` in a `node:cluster`
 * worker, whose sockets belong to the cluster primary: set `workers` in the config instead. `ModeChanged`:
 * a restart's config adds `workers` to a server that runs without (`added`), or drops it from a
 * supervised one; the old process serves on; stop the server and start it again to change the mode.
 * `NotARunWorker`: the app adapter runs only in a worker that `uninterruptible run` started.
 */
export type ProcessRefused =
  /** `serve` or `serveHttp` was called a second time in this process. */
  | { readonly _tag: 'AlreadyServing' }
  /** `serve` was called in a `node:cluster` worker. */
  | { readonly _tag: 'ClusterWorker' }
  /** A restart's config adds `workers` (`added`) or removes it. */
  | { readonly _tag: 'ModeChanged'; readonly added: boolean }
  /** The app adapter (src/app.ts) in a process that `uninterruptible run` did not start as a worker. */
  | { readonly _tag: 'NotARunWorker' }

export const describeProcessRefused = (e: ProcessRefused): string => {
  switch (e._tag) {
    case 'AlreadyServing':
      return 'serve was called a second time in this process: a process serves one config (the first call goes on serving); give one config several addresses in `bind` instead'
    case 'ClusterWorker':
      return 'serve was called in a node:cluster worker, whose listening sockets belong to the cluster primary and cannot be handed over: run the server without node:cluster, and set `workers` in the config to serve from several processes'
    case 'ModeChanged':
      return e.added
        ? '`workers` was set in the config of a server that runs without it: a restart keeps the mode (a supervisor cannot take over from a serving process); stop the server and start it again to supervise workers'
        : '`workers` was removed from the config of a supervised server: a restart keeps the mode (a worker cannot become a server that restarts itself); stop the server and start it again to run without workers'
    case 'NotARunWorker':
      return 'the app adapter serves an app only in a worker that `uninterruptible run` started: run the app with `uninterruptible run ... -- node app.js`'
  }
}

/**
 * Why a server could not start: what `serveTask` and `serveHttpTask` fail with (`serve` and `serveHttp`
 * print it and exit 1). A union of tagged errors, one type per part of the start: the config (read,
 * parsed, decoded), what a parent passed down, the log, the sockets, the pidfile, TLS, the process
 * itself, and the Node version.
 *
 * @remarks
 * Render any of them for a person with {@link describeServeError}: the message names what was wrong
 * and what to do. At a restart, a new process that fails with one of these exits 1 before it is ready,
 * and the old one serves on. New members may come in a minor release: give a `switch` over `_tag` a
 * default branch.
 */
export type ServeError = ConfigSourceError | ConfigError | InheritError | LogError | ListenError | PidfileError | PidfileHeld | UnsupportedServer | ProcessRefused | TlsError | UnsupportedNode | SignalBlocked

/**
 * A {@link ServeError} in words, as `serve` prints it: what was wrong, and what to do about it.
 *
 * @param e - the error
 *
 * @example
 * ```ts
 * import { describeServeError, serveTask } from 'uninterruptible'
 *
 * const stopped = await serveTask('config.json', handler)()
 * if (stopped._tag === 'Left') console.error(describeServeError(stopped.left)) // e.g. "address in use: cannot listen on tcp://0.0.0.0:8080: ..."
 * ```
 */
export const describeServeError = (e: ServeError): string => {
  switch (e._tag) {
    case 'ConfigUnreadable':
    case 'ConfigNotJson':
      return describeConfigSourceError(e)
    case 'InvalidConfig':
      return describeConfigError(e)
    case 'MalformedInheritance':
      return describeInheritError(e)
    case 'LogUnwritable':
      return describeLogError(e)
    case 'AddressInUse':
    case 'PermissionDenied':
    case 'AddressNotAvailable':
    case 'FolderMissing':
    case 'NotASocket':
    case 'InheritedFdUnusable':
    case 'ReadyFdUnusable':
    case 'BindChanged':
    case 'ControlChanged':
    case 'ActivationMismatch':
    case 'ListenFailed':
      return describeListenError(e)
    case 'PidfileUnwritable':
      return describePidfileError(e)
    case 'PidfileHeld':
      return describePidfileHeld(e)
    case 'AlreadyServing':
    case 'ClusterWorker':
    case 'ModeChanged':
    case 'NotARunWorker':
      return describeProcessRefused(e)
    case 'UnsupportedServer':
      return describeUnsupportedServer(e)
    case 'TlsUnusable':
      return describeTlsError(e)
    case 'UnsupportedNode':
      return describeUnsupportedNode(e)
    case 'SignalBlocked':
      return describeSignalBlocked(e)
  }
}
