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

/**
 * The folder the preload was given for compiled code (COMPILE_CACHE_ENV), left for the library's loader
 * (src/load.ts), which keeps its own code cache of the library there.
 */
export const CODE_CACHE_DIR_KEY = Symbol.for('uninterruptible.code-cache-dir.v1')

export const codeCacheDirOn = (holder: object): string | undefined => {
  const dir: unknown = Reflect.get(holder, CODE_CACHE_DIR_KEY)
  return typeof dir === 'string' ? dir : undefined
}

/**
 * Left by the library's loader (src/load.ts): how the library's code was had (`cached`: from the code
 * cache; `compiled`: compiled here, with a cache folder to save it to; `uncached`: no folder), and
 * `save`, which writes the cache once the process serves (nothing when it was `cached`).
 */
export interface LibraryCode {
  readonly state: 'cached' | 'compiled' | 'uncached'
  readonly save: () => void
}

export const LIBRARY_CODE_KEY = Symbol.for('uninterruptible.library-code.v1')

export const libraryCodeOn = (holder: object): LibraryCode | undefined => {
  const held: unknown = Reflect.get(holder, LIBRARY_CODE_KEY)
  if (typeof held !== 'object' || held === null || !('state' in held) || !('save' in held)) return undefined
  const { state, save } = held
  return (state === 'cached' || state === 'compiled' || state === 'uncached') && typeof save === 'function' ? { state, save: () => void Reflect.apply(save, undefined, []) } : undefined
}
