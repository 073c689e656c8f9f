/**
 * Fakes for unit tests of the glue (no processes, no real timers): a Log that keeps its lines, timers
 * fired by hand, and a way to let an effect chain run to its end.
 */
import assert from 'node:assert/strict'
import type { Log } from '../../src/shell/log/logger'
import type { After } from '../../src/shell/os/timer'

export interface Line {
  readonly level: string
  readonly fields: Readonly<Record<string, unknown>>
  readonly message: string
}

/** A Log that keeps its lines. */
export const memoryLog = (): { readonly log: Log; readonly lines: Line[] } => {
  const lines: Line[] = []
  const at =
    (level: string) =>
    (fields: Readonly<Record<string, unknown>>, message: string): void => {
      lines.push({ level, fields, message })
    }
  const log: Log = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), fatal: at('fatal'), child: () => log, pino: () => assert.fail('no pino here') }
  return { log, lines }
}

export interface FakeTimer {
  readonly ms: number
  readonly keepAlive: boolean
  /** Fires it now, unless it was cancelled or has fired. */
  readonly fire: () => void
  readonly state: () => 'set' | 'fired' | 'cancelled'
}

/** Timers that fire only when the test says; `note` hears each one set and each one cancelled while set. */
export const fakeTimers = (note: (what: string) => void): { readonly after: After; readonly timers: FakeTimer[] } => {
  const timers: FakeTimer[] = []
  const after: After = (ms, f, keepAlive = true) => {
    let state: 'set' | 'fired' | 'cancelled' = 'set'
    timers.push({
      ms,
      keepAlive,
      fire: () => {
        if (state !== 'set') return
        state = 'fired'
        f()
      },
      state: () => state,
    })
    note(`timer ${ms}${keepAlive ? '' : ' (unref)'}`)
    return {
      cancel: () => {
        if (state !== 'set') return
        state = 'cancelled'
        note(`cancel ${ms}`)
      },
    }
  }
  return { after, timers }
}

/** Lets every effect waiting in a runtime's chain run (each effect is a few promise turns). */
export const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))
