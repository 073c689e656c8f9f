/**
 * Boot: what must happen the moment the library is loaded, before anything slow.
 * - Listen for SIGUSR1, SIGUSR2 and SIGHUP (the signals a restart may be configured to use, and that
 *   a closed terminal or a log-rotation script sends): one that reaches a process still starting is
 *   queued instead of killing it or, for SIGUSR1, opening the Node inspector.
 * - Take the inheritance variables out of the environment, so nothing this process spawns (other than
 *   its own successor, which gets fresh ones) believes it inherited a socket.
 * - In a process a server started, report a crash before `serve` runs (a throw at import) to it.
 */
import { ENV_KEYS, type Env, INHERIT_ENV } from '../../core/inherit'
import { RESTART_SIGNALS } from '../../core/signal'
import { reportCrashAtExit } from './channel'
import { listen } from './signals'

const snapshot: Record<string, string> = {}
for (const key of ENV_KEYS) {
  const value = process.env[key]
  if (value !== undefined) snapshot[key] = value
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- removing our own variables
  delete process.env[key]
}

/** The inheritance variables this process was started with. */
export const inheritedEnv: Env = Object.freeze(snapshot)

// started by a server: a throw before serve runs is reported to it (the full check comes in serve)
const channel = ((): unknown => {
  try {
    return (JSON.parse(snapshot[INHERIT_ENV] ?? 'null') as { channel?: unknown } | null)?.channel
  } catch {
    return undefined
  }
})()
if (typeof channel === 'number' && Number.isInteger(channel) && channel > 2) reportCrashAtExit(channel)

listen(RESTART_SIGNALS)
