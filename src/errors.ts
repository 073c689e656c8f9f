/**
 * Start-up errors: the union of every module's error where they meet in `serve`, and one function that
 * renders any of them for a person.
 */
import { type ConfigError, describeConfigError } from './core/config'
import { describeInheritError, type InheritError } from './core/inherit'
import { type ConfigSourceError, describeConfigSourceError } from './shell/configSource'
import { describeUnsupportedServer, type UnsupportedServer } from './shell/protocol/http'
import { describeTlsError, type TlsError } from './shell/protocol/tls'
import { describeListenError, type ListenError } from './shell/listener'
import { describeLogError, type LogError } from './shell/log/logger'
import { describePidfileError, type PidfileError } from './shell/os/pidfile'
import { describePidfileHeld, type PidfileHeld } from './shell/os/pidlock'
import { describeProcessRefused, type ProcessRefused } from './modes/serve'
import { describeUnsupportedNode, type UnsupportedNode } from './core/nodeVersion'
import { describeSignalBlocked, type SignalBlocked } from './shell/os/sigmask'

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
