/**
 * What the preload (src/preload.ts) and the library agree on: where the preload leaves the signals it
 * queued, and the variables a parent sets for it. These names never change between releases: a preload
 * of one release may run before the library of another.
 */

/** The queue a preload leaves for the library. */
export interface EarlySignals {
  readonly queued: NodeJS.Signals[]
  /** Removes the preload's listeners (the library's own are installed by then). */
  readonly stop: () => void
}

export const EARLY_SIGNALS_KEY = Symbol.for('uninterruptible.early-signals.v1')

/** What another release's preload may have left: checked, not assumed. */
const isEarlySignals = (u: unknown): u is EarlySignals =>
  typeof u === 'object' && u !== null && 'queued' in u && Array.isArray(u.queued) && 'stop' in u && typeof u.stop === 'function'

/** The queue a preload left on `holder` (globalThis), if any. */
export const earlySignalsOn = (holder: object): EarlySignals | undefined => {
  const held: unknown = Reflect.get(holder, EARLY_SIGNALS_KEY)
  return isEarlySignals(held) ? held : undefined
}

/** Leaves `early` on `holder` (globalThis) for the library; `undefined` once the library has taken it. */
export const leaveEarlySignals = (holder: object, early: EarlySignals | undefined): void => {
  Reflect.set(holder, EARLY_SIGNALS_KEY, early)
}

/** The exact text the parent appended to NODE_OPTIONS, to take out again. */
export const PRELOAD_ENV = 'UNINTERRUPTIBLE_PRELOAD'

/** The folder for Node's compile cache, when the parent wants one. */
export const COMPILE_CACHE_ENV = 'UNINTERRUPTIBLE_COMPILE_CACHE'

/** What a parent adds to NODE_OPTIONS (quoted as NODE_OPTIONS reads a path with spaces or quotes). */
export const preloadOption = (file: string): string => `--require=${/^[\w@%+=:,./-]+$/.test(file) ? file : JSON.stringify(file)}`

/** NODE_OPTIONS for a child: the user's own, and the preload after them. */
export const withPreload = (nodeOptions: string | undefined, option: string): string =>
  nodeOptions === undefined || nodeOptions.trim() === '' ? option : `${nodeOptions} ${option}`

/** NODE_OPTIONS as the user had it, once the preload's own option is taken out; `undefined`: unset. */
export const withoutPreload = (nodeOptions: string | undefined, option: string): string | undefined => {
  if (nodeOptions === undefined || nodeOptions === option) return undefined
  return nodeOptions.endsWith(` ${option}`) ? nodeOptions.slice(0, -(option.length + 1)) : nodeOptions
}
