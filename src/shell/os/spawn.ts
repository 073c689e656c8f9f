/**
 * Starting a child process (child.ts, and Node's child_process: about 3 ms to load here), loaded once
 * this process serves (`loadSpawn`, from afterReady): not during its start-up, which is on the handoff's
 * critical path and spawns nothing, nor at its first restart, which is on the next one's.
 * The channel's codec is passed in from here: what child.ts imported would be bundled to load lazily
 * too, and the codecs are loaded at start-up anyway.
 */
import { decodeChildMessage } from '../../core/wire/channel'
import type { Child, ChildEvents, ChildSpec } from './child'

// eslint-disable-next-line @typescript-eslint/no-require-imports -- deliberate lazy loading, see above
const load = (): typeof import('./child') => require('./child')

/** Loads the spawning code now, ahead of the restart that needs it. */
export const loadSpawn = (): void => {
  load()
}

export const spawnChild = (spec: ChildSpec, on: ChildEvents): Child => load().spawnChild(spec, on, decodeChildMessage)
