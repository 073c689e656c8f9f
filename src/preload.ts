/**
 * Preload: the first JavaScript to run in every process a server starts (a successor, a worker). The
 * parent adds `--require <this file>` to the child's NODE_OPTIONS, so this runs before the
 * application's entry file loads anything (docs/ARCHITECTURE.md, "Signals while a process starts"):
 * - SIGUSR1, SIGUSR2 and SIGHUP get a listener that queues them: from here on, one sent to the new
 *   process neither kills it nor (SIGUSR1) opens the Node inspector. The library takes the queue and
 *   removes these listeners as it loads (shell/os/signals.ts).
 * - NODE_OPTIONS is given back as the user had it, so nothing the application spawns preloads this.
 * - Node's module compile cache is turned on in the folder the parent named (Node 22.1 and later), and
 *   the folder is left for the library's loader (src/load.ts), which keeps the library's code there.
 *
 * It shares no state with the library: it may belong to another release than the code it preloads
 * (core/early.ts holds the names both sides know). A first generation may be started with it too:
 * `node --require uninterruptible/preload server.js`.
 */
import { CODE_CACHE_DIR_KEY, COMPILE_CACHE_ENV, earlySignalsOn, leaveEarlySignals, PRELOAD_ENV, withoutPreload } from './core/early'

const SIGNALS: readonly NodeJS.Signals[] = ['SIGUSR1', 'SIGUSR2', 'SIGHUP']
/** A flood of signals during start-up must not grow memory: the first ones say all there is to say. */
const MAX_QUEUED = 64

if (earlySignalsOn(globalThis) === undefined) {
  const queued: NodeJS.Signals[] = []
  const onSignal = (signal: NodeJS.Signals): void => {
    if (queued.length < MAX_QUEUED) queued.push(signal)
  }
  for (const s of SIGNALS) process.on(s, onSignal)
  leaveEarlySignals(globalThis, {
    queued,
    stop: () => {
      for (const s of SIGNALS) process.removeListener(s, onSignal)
    },
  })
}

const env = process.env
const added = env[PRELOAD_ENV]
if (added !== undefined) {
  const options = withoutPreload(env.NODE_OPTIONS, added)
  if (options === undefined) delete env.NODE_OPTIONS
  else env.NODE_OPTIONS = options
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a variable meant for this process only
  delete env[PRELOAD_ENV]
}

const cacheDir = env[COMPILE_CACHE_ENV]
if (cacheDir !== undefined) {
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- a variable meant for this process only
  delete env[COMPILE_CACHE_ENV]
  Reflect.set(globalThis, CODE_CACHE_DIR_KEY, cacheDir)
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded only when asked for
    require('node:module').enableCompileCache?.(cacheDir)
  } catch {
    // no cache: start-up is only slower
  }
}
