/**
 * An unchanged application's own SIGTERM and SIGINT handlers (`uninterruptible run`). Many apps install
 * one that closes the server and exits, or exits at once: run when the signal comes, it would cut the
 * requests in flight. So they are held: `process.on('SIGTERM', h)` and its kin record `h` instead of
 * listening, the library's own listener decides (a drain), and the held handlers run once the drain is
 * over, as the worker's last step before it exits, whatever stopped it (docs/ARCHITECTURE.md, "Unchanged
 * apps"). Removing one works as before.
 */
import { EventEmitter } from 'node:events'


type Held = 'SIGTERM' | 'SIGINT'
const isHeld = (event: string | symbol): event is Held => event === 'SIGTERM' || event === 'SIGINT'

type Handler = (signal: NodeJS.Signals) => void
type Listen = (event: string | symbol, listener: Handler) => NodeJS.Process

export interface HeldHandlers {
  /** Runs every held handler (once each), with the signal it was installed for; how many ran. */
  readonly run: () => number
  /** Gives Node its own methods back. */
  readonly release: () => void
}

/**
 * Holds the application's handlers for SIGTERM and SIGINT from now on; `own` are the library's own
 * listeners, which still listen as usual.
 */
export const holdStopHandlers = (own: (listener: unknown) => boolean): HeldHandlers => {
  const held: { readonly signal: Held; readonly handler: Handler }[] = []
  // process's own methods are EventEmitter's; those are what listening and removing go on to
  const proto = EventEmitter.prototype
  const adder =
    (method: 'on' | 'addListener' | 'once' | 'prependListener' | 'prependOnceListener'): Listen =>
    (event, listener) => {
      if (!isHeld(event) || own(listener)) proto[method].call(process, event, listener)
      else held.push({ signal: event, handler: listener })
      return process
    }
  const remover =
    (method: 'off' | 'removeListener'): Listen =>
    (event, listener) => {
      const i = held.findIndex((h) => h.signal === event && h.handler === listener)
      if (i >= 0) held.splice(i, 1)
      proto[method].call(process, event, listener)
      return process
    }
  const names = ['on', 'addListener', 'once', 'prependListener', 'prependOnceListener', 'off', 'removeListener'] as const
  const before = Object.fromEntries(names.map((n) => [n, Object.getOwnPropertyDescriptor(process, n)]))
  Object.assign(process, {
    on: adder('on'),
    addListener: adder('addListener'),
    once: adder('once'),
    prependListener: adder('prependListener'),
    prependOnceListener: adder('prependOnceListener'),
    off: remover('off'),
    removeListener: remover('removeListener'),
  })
  return {
    run: () => {
      const now = held.splice(0)
      for (const h of now) h.handler(h.signal)
      return now.length
    },
    release: () => {
      for (const n of names) {
        const d = before[n]
        if (d === undefined) Reflect.deleteProperty(process, n)
        else Object.defineProperty(process, n, d)
      }
    },
  }
}
