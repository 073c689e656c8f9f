/**
 * Signals: our listeners, installed early (see boot.ts), queue signals until `serve` takes delivery.
 * `take` hands back what was queued, so the caller can decide what a signal that arrived during
 * start-up means, and delivers later ones as they come. In a process a server started, the preload
 * (src/preload.ts) listened even earlier: its queue is taken over here, and its listeners removed.
 */
import { earlySignalsOn, leaveEarlySignals } from '../../core/early'
import { STOP_SIGNALS } from '../../core/signal'

type Deliver = (signal: NodeJS.Signals) => void

const queue: NodeJS.Signals[] = []
let deliver: Deliver | undefined
const installed = new Set<NodeJS.Signals>()

/** A flood of signals while starting must not grow memory: the first ones say all there is to say. */
const MAX_QUEUED = 64

const onSignal = (signal: NodeJS.Signals): void => {
  if (deliver !== undefined) deliver(signal)
  else if (queue.length < MAX_QUEUED) queue.push(signal)
}

/** Makes sure each signal has our listener (idempotent). */
export const listen = (signals: readonly NodeJS.Signals[]): void => {
  for (const s of signals) {
    if (installed.has(s)) continue
    installed.add(s)
    process.on(s, onSignal)
  }
  adoptEarly()
}

/** Takes what the preload queued, in the same turn as our listeners are in place: nothing is lost or seen twice. */
const adoptEarly = (): void => {
  const early = earlySignalsOn(globalThis)
  if (early === undefined) return
  leaveEarlySignals(globalThis, undefined)
  early.stop()
  onSignals(early.queued.splice(0))
}

const onSignals = (signals: readonly NodeJS.Signals[]): void => {
  for (const s of signals) onSignal(s)
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

/** The signal listeners given back when a server is done (SIGUSR1's stays: with none, SIGUSR1 opens the inspector). */
const OWN_SIGNALS: readonly NodeJS.Signals[] = [...STOP_SIGNALS, 'SIGUSR2', 'SIGHUP']

/** A server is done (or could not start): its stop, SIGUSR2 and SIGHUP listeners are given back. */
export const unlistenOwn = (): void => unlisten(OWN_SIGNALS)

/** Whether `listener` is the library's own (the app adapter holds every other stop handler, shell/app/appSignals.ts). */
export const isOwnListener = (listener: unknown): boolean => listener === onSignal
