/**
 * Boot: what must happen the moment the library is loaded, before anything slow.
 * - Listen for SIGUSR1, SIGUSR2 and SIGHUP (the signals a restart may be configured to use, and that
 *   a closed terminal or a log-rotation script sends): one that reaches a process still starting is
 *   queued instead of killing it or, for SIGUSR1, opening the Node inspector.
 * - Take the inheritance variables out of the environment, so nothing this process spawns (other than
 *   its own successor, which gets fresh ones) believes it inherited a socket.
 */
import { ENV_KEYS, type Env } from '../../core/inherit'
import { RESTART_SIGNALS } from '../../core/signal'
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

listen(RESTART_SIGNALS)
