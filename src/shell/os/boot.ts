/**
 * Boot: what must happen the moment the library is loaded, before anything slow.
 * - Listen for SIGUSR1, SIGUSR2 and SIGHUP (the signals a restart may be configured to use, and that
 *   a closed terminal or a log-rotation script sends): one that reaches a process still starting is
 *   queued instead of killing it or, for SIGUSR1, opening the Node inspector.
 * - Take the inheritance variables out of the environment, so nothing this process spawns (other than
 *   its own successor, which gets fresh ones) believes it inherited a socket.
 * - Take systemd's socket activation variables out too (read once here, see listener/activation.ts).
 * - In a process a server started, report a crash before `serve` runs (a throw at import) to it, and
 *   tell serve where to report a failure it has before it reads the inheritance variable.
 */
import * as O from 'fp-ts/Option'
import type { Env } from '../../core/codec'
import { ENV_KEYS, parentChannel } from '../../core/wire/inherit'
import { RESTART_SIGNALS } from '../../core/signal'
import { ACTIVATION_ENV } from '../listener/activation'
import { reportCrashAtExit } from './channel'
import { listen } from './signals'

/** Reads these variables once and removes them from the environment, so no subprocess inherits them. */
const takeEnv = (keys: readonly string[]): Env => {
  const taken: Record<string, string> = {}
  for (const key of keys) {
    const value = process.env[key]
    if (value !== undefined) taken[key] = value
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- removing variables meant for this process only
    delete process.env[key]
  }
  return Object.freeze(taken)
}

/** The inheritance variables this process was started with. */
export const inheritedEnv: Env = takeEnv(ENV_KEYS)

/**
 * LISTEN_FDS, LISTEN_PID and LISTEN_FDNAMES as this process was started with them (removed, as
 * sd_listen_fds does: a successor or a worker gets the sockets from its parent, and a subprocess of a
 * handler must not take them for its own).
 */
export const activationEnv: Env = takeEnv(ACTIVATION_ENV)

/**
 * The channel to the server that started this process, read roughly here (the full check of the
 * inheritance variable comes in serve): a throw before serve runs, and a serve that fails before that
 * check (an unreadable or invalid config), are reported there.
 */
export const parentChannelFd: O.Option<number> = parentChannel(inheritedEnv)
if (O.isSome(parentChannelFd)) reportCrashAtExit(parentChannelFd.value)

listen(RESTART_SIGNALS)

/** When the library was loaded, in ms from this process's start (its startup timeline, see announceReady). */
export const loadedAtMs = performance.now()
