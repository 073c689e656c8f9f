/**
 * What every mode does as it starts, before its own run: take the pidfile's lock, bind the control
 * socket, write the pidfile at the right moment (after the signals sent before it have arrived), and
 * notice a stop that came while it started. Standalone mode, the supervisor and workers share these.
 */
import * as O from 'fp-ts/Option'
import * as TE from 'fp-ts/TaskEither'
import { type Bind, formatBind } from '../core/bind'
import { STOP_SIGNALS } from '../core/signal'
import { bindControl, type ControlSocket } from '../shell/control/socket'
import { readPidfile, writePidfile } from '../shell/os/pidfile'
import { type Pidlock, takePidlock } from '../shell/os/pidlock'
import * as signals from '../shell/os/signals'
import type { ServeError } from './errors'
import type { Prepared } from './prepare'

/**
 * One turn of the event loop, taken just before the pidfile is written. A signal is handed to JavaScript
 * only in the poll phase; this turn makes sure every signal that reached the process before its pidfile
 * named it is in our queue, and nothing sent after is. From the pidfile on, signals are acted on (so
 * `kill -USR1 $(cat pidfile)` always works); restart signals from before are ignored, and a successor
 * with a stop from before does not take over.
 */
export const settleSignals: TE.TaskEither<never, void> = TE.fromTask(() => new Promise<void>((resolve) => setImmediate(resolve)))

export const writeOwnPidfile = (p: Prepared): TE.TaskEither<ServeError, void> =>
  O.isSome(p.pidfile) ? writePidfile(p.pidfile.value, process.pid) : TE.right(undefined)

/** Said when a first start replaces a socket file that a crashed server left behind. */
export const warnStale =
  (p: Prepared) =>
  (bind: Bind): void =>
    p.log.warn({ event: 'stale-socket', bind: formatBind(bind) }, `replacing a stale socket file nobody answers on at ${formatBind(bind)}`)

export const NO_LOCK: Pidlock = { fd: O.none, release: () => undefined }

/** Takes the pidfile's lock, if there is a pidfile: a second server given the same pidfile is refused. */
export const lockPidfile = (p: Prepared): TE.TaskEither<ServeError, Pidlock> =>
  O.isSome(p.pidfile) ? TE.fromEither(takePidlock(p.pidfile.value, readPidfile)) : TE.right(NO_LOCK)

/** The control socket at `controlPath`, if the config sets one (the supervisor binds it the same way). */
export const controlSocket = (p: Prepared): TE.TaskEither<ServeError, O.Option<ControlSocket>> =>
  O.isSome(p.config.controlPath)
    ? TE.map((c: ControlSocket) => O.some(c))(bindControl(p.config.controlPath.value, () => p.log.warn({ event: 'stale-socket', path: p.config.controlPath }, 'replacing a stale control socket file nobody answers on')))
    : TE.right(O.none)

/** A stop signal reached this process while it was starting: it exits without taking over. */
export const stoppedWhileStarting = (p: Prepared): boolean => {
  if (!signals.hasQueued(STOP_SIGNALS)) return false
  p.log.warn({ event: 'stopped-before-ready' }, 'a stop signal arrived while this process was starting: exiting without taking over')
  signals.unlistenOwn()
  return true
}
