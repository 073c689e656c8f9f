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

/** `ModeChanged`: a restart's config adds `workers` to a server that runs without (`added`), or drops it from a supervised one. */
export type ProcessRefused =
  | { readonly _tag: 'AlreadyServing' }
  | { readonly _tag: 'ClusterWorker' }
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

export type ServeError = ConfigSourceError | ConfigError | InheritError | LogError | ListenError | PidfileError | PidfileHeld | UnsupportedServer | ProcessRefused | TlsError | UnsupportedNode | SignalBlocked

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
