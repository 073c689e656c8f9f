/**
 * Starting a child process (child.ts), loaded on first use: a successor's start-up is on the handoff's
 * critical path, and it spawns nothing before it serves (child_process is about 3 ms to load here).
 * The channel's codec is passed in from here: what child.ts imported would be bundled to load lazily
 * too, and the codecs are loaded at start-up anyway.
 */
import { decodeChildMessage } from '../../core/wire/channel'
import type { Child, ChildEvents, ChildSpec } from './child'

export const spawnChild = (spec: ChildSpec, on: ChildEvents): Child =>
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deliberate lazy loading, see above
  require('./child').spawnChild(spec, on, decodeChildMessage)
