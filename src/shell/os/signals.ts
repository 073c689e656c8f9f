/**
 * Signals: our listeners, installed early (see boot.ts), queue signals until `serve` takes delivery.
 * `take` hands back what was queued, so the caller can decide what a signal that arrived during
 * start-up means, and delivers later ones as they come.
 */

type Deliver = (signal: NodeJS.Signals) => void

const queue: NodeJS.Signals[] = []
let deliver: Deliver | undefined
const installed = new Set<NodeJS.Signals>()

const onSignal = (signal: NodeJS.Signals): void => {
  if (deliver === undefined) queue.push(signal)
  else deliver(signal)
}

/** Makes sure each signal has our listener (idempotent). */
export const listen = (signals: readonly NodeJS.Signals[]): void => {
  for (const s of signals) {
    if (installed.has(s)) continue
    installed.add(s)
    process.on(s, onSignal)
  }
}

/** Removes our listeners for `signals`, so they act the default way again. */
export const unlisten = (signals: readonly NodeJS.Signals[]): void => {
  for (const s of signals) {
    process.removeListener(s, onSignal)
    installed.delete(s)
  }
}

/** Whether one of `signals` is waiting in the queue. */
export const hasQueued = (signals: readonly NodeJS.Signals[]): boolean => queue.some((s) => signals.includes(s))

export interface Delivery {
  /** Signals that arrived before delivery was taken, oldest first. */
  readonly queued: readonly NodeJS.Signals[]
  /** Gives delivery back (later signals queue again). */
  readonly release: () => void
}

export const take = (to: Deliver): Delivery => {
  deliver = to
  return {
    queued: queue.splice(0),
    release: () => {
      deliver = undefined
    },
  }
}
