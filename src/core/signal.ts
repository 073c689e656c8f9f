/**
 * Signal names the lifecycle understands: which ones may trigger a restart, which ones stop.
 */

export const RESTART_SIGNALS = ['SIGUSR1', 'SIGUSR2', 'SIGHUP'] as const
export type RestartSignal = (typeof RESTART_SIGNALS)[number]

export const STOP_SIGNALS = ['SIGTERM', 'SIGINT'] as const
export type StopSignal = (typeof STOP_SIGNALS)[number]

export const isRestartSignal = (s: string): s is RestartSignal => (RESTART_SIGNALS as readonly string[]).includes(s)

/** Exit code of a forced stop (a second stop signal), as a shell reports a death by that signal. */
export const forcedExitCode = (s: StopSignal): number => (s === 'SIGINT' ? 130 : 143)
