import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { monotonicMs, stopwatch } from '../../src/shell/os/clock'
import { rateLimited } from '../../src/shell/log/rateLimited'
import type { Log } from '../../src/shell/log/logger'

/** A clock the test sets. */
const manualClock = (start: number): { readonly clock: () => number; set: (ms: number) => void } => {
  let now = start
  return { clock: () => now, set: (ms) => (now = ms) }
}

interface Line {
  readonly level: 'debug' | 'warn'
  readonly fields: Readonly<Record<string, unknown>>
  readonly message: string
}

/** A Log that keeps its debug and warn lines. */
const recordingLog = (): { readonly log: Log; readonly lines: Line[] } => {
  const lines: Line[] = []
  const unused = (): void => assert.fail('not expected at this level')
  const log: Log = {
    debug: (fields, message) => lines.push({ level: 'debug', fields, message }),
    warn: (fields, message) => lines.push({ level: 'warn', fields, message }),
    info: unused,
    error: unused,
    fatal: unused,
    child: () => log,
    pino: () => assert.fail('not expected'),
  }
  return { log, lines }
}

describe('durations on a monotonic clock', () => {
  it('a stopwatch counts whole milliseconds from its start, read from the clock it is given', () => {
    const c = manualClock(5_000.4)
    const uptime = stopwatch(c.clock)
    assert.equal(uptime(), 0)
    c.set(5_250.9)
    assert.equal(uptime(), 250)
    c.set(3_605_000.4)
    assert.equal(uptime(), 3_600_000)
  })

  it('the default clock never goes back, and is not the wall clock', () => {
    let last = monotonicMs()
    for (let i = 0; i < 10_000; i++) {
      const now = monotonicMs()
      assert.ok(now >= last)
      last = now
    }
    // performance.now counts from the process's start; Date.now from 1970
    assert.ok(monotonicMs() < Date.now() / 2)
  })

  it('a flood warns once a minute by the given clock, counting what came since; every occurrence is at debug', () => {
    const c = manualClock(1_000)
    const { log, lines } = recordingLog()
    const refused = rateLimited(log, 'client-refused', c.clock)
    const warnings = (): Line[] => lines.filter((l) => l.level === 'warn')
    refused({ remote: 'a' }, 'refused')
    assert.deepStrictEqual(warnings(), [{ level: 'warn', fields: { event: 'client-refused', remote: 'a', count: 1 }, message: 'refused' }])
    c.set(30_000)
    refused({ remote: 'b' }, 'refused')
    c.set(60_999)
    refused({ remote: 'c' }, 'refused')
    assert.equal(warnings().length, 1, 'within the minute')
    c.set(61_000)
    refused({ remote: 'd' }, 'refused')
    assert.deepStrictEqual(warnings()[1], { level: 'warn', fields: { event: 'client-refused', remote: 'd', count: 3 }, message: 'refused (3 such since the last warning)' })
    assert.equal(lines.filter((l) => l.level === 'debug').length, 4)
  })
})
