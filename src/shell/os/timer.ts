/**
 * Timers, a capability: the effect runners set them through this, so their tests can pass a fake clock.
 */

export interface Timer {
  readonly cancel: () => void
}

/** Calls `f` once after `ms`. `keepAlive: false`: the timer alone does not keep the process running. */
export type After = (ms: number, f: () => void, keepAlive?: boolean) => Timer

export const after: After = (ms, f, keepAlive = true) => {
  const t = setTimeout(f, ms)
  if (!keepAlive) t.unref()
  return { cancel: () => clearTimeout(t) }
}

/** Settles after a whole turn of the event loop, its poll phase (where connections are accepted) included. */
export const nextTurn = (): Promise<void> => new Promise((resolve) => setImmediate(() => setImmediate(resolve)))
