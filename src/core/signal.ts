/**
 * Signal names the lifecycle understands: which ones may trigger a restart, which ones stop.
 */
import * as O from 'fp-ts/Option'
import { allOf } from './allOf'

/**
 * A signal the config's `restartSignal` may name: the server restarts when it gets it (`SIGUSR1` by
 * default). The others are ignored while the server runs, so a stray one cannot kill it.
 */
export type RestartSignal = 'SIGUSR1' | 'SIGUSR2' | 'SIGHUP'
export const RESTART_SIGNALS = allOf<RestartSignal>()(['SIGUSR1', 'SIGUSR2', 'SIGHUP'])

/** A signal that stops a server: it drains and exits; a second one makes it exit at once (code 143 or 130). */
export type StopSignal = 'SIGTERM' | 'SIGINT'
export const STOP_SIGNALS = allOf<StopSignal>()(['SIGTERM', 'SIGINT'])

export const isRestartSignal = (s: string): s is RestartSignal => RESTART_SIGNALS.some((r) => r === s)

export const isStopSignal = (s: string): s is StopSignal => STOP_SIGNALS.some((r) => r === s)

/** Exit code of a forced stop (a second stop signal), as a shell reports a death by that signal. */
export const forcedExitCode = (s: StopSignal): number => (s === 'SIGINT' ? 130 : 143)

/** What a signal asks of a server: a stop, a restart (only the configured restart signal), or nothing. */
export type SignalRequest =
  | { readonly _tag: 'StopRequested'; readonly by: StopSignal }
  | { readonly _tag: 'RestartRequested'; readonly by: { readonly _tag: 'Signal'; readonly signal: RestartSignal } }

export const signalRequest = (restartSignal: RestartSignal, signal: string): O.Option<SignalRequest> =>
  isStopSignal(signal)
    ? O.some({ _tag: 'StopRequested', by: signal })
    : isRestartSignal(signal) && signal === restartSignal
      ? O.some({ _tag: 'RestartRequested', by: { _tag: 'Signal', signal } })
      : O.none
