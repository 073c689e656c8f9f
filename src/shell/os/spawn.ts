/**
 * Starting a child process (child.ts), loaded on first use: a successor's start-up is on the handoff's
 * critical path, and it spawns nothing before it serves (child_process is about 3 ms to load here).
 */
import type * as Child from './child'

export const spawnChild: typeof Child.spawnChild = (spec, on) =>
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- deliberate lazy loading, see above
  require('./child').spawnChild(spec, on)
