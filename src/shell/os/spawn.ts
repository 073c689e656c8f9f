/**
 * Starting a child process (child.ts, and Node's child_process: about 3 ms to load here), loaded once
 * this process serves (`loadSpawn`, from afterReady): not during its start-up, which is on the handoff's
 * critical path and spawns nothing, nor at its first restart, which is on the next one's.
 */
import type * as Child from './child'

// eslint-disable-next-line @typescript-eslint/no-require-imports -- deliberate lazy loading, see above
const load = (): typeof Child => require('./child') as typeof Child

/** Loads the spawning code now, ahead of the restart that needs it. */
export const loadSpawn = (): void => {
  load()
}

export const spawnChild: typeof Child.spawnChild = (spec, on) => load().spawnChild(spec, on)
