/**
 * The log destination's queue (shell/log/destination.ts) over a scripted sink: a reader that takes
 * everything, part of a line, nothing (a full pipe), or fails (EIO, ENOSPC). Lines come out whole and in
 * order, what does not fit is dropped and counted where it was lost, and nothing waits on the reader
 * but the bounded wait at exit.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { type Destination, lineQueue, type Sink } from '../../src/shell/log/destination'

/** What the scripted reader does on one write: take up to n bytes (0: nothing fits now), or fail. */
type Step = { readonly take: number } | { readonly fail: string }

interface Rig {
  readonly d: Destination
  /** Everything the reader has taken. */
  readonly out: () => string
  readonly notices: string[]
  /** Runs the retry the queue scheduled, if any; false when none was. */
  readonly tick: () => boolean
  /** Sets what the reader does from now on (the last step repeats). */
  readonly script: (steps: readonly Step[]) => void
  readonly slept: () => number
}

const lost = (n: number): string => `LOST ${n}\n`

const rig = (limit: number): Rig => {
  let taken = ''
  let steps: readonly Step[] = [{ take: Infinity }]
  let pending: (() => void) | null = null
  let slept = 0
  const notices: string[] = []
  const sink: Sink = (bytes, offset) => {
    const step = steps[0] ?? { take: Infinity }
    if (steps.length > 1) steps = steps.slice(1)
    if ('fail' in step) throw new Error(step.fail)
    const n = Math.min(step.take, bytes.length - offset)
    taken += bytes.subarray(offset, offset + n).toString()
    return n
  }
  const d = lineQueue({
    sink,
    lostLine: lost,
    notice: (reason) => notices.push(reason),
    later: (f) => {
      assert.equal(pending, null, 'one retry at a time')
      pending = f
    },
    sleep: () => (slept += 1),
    limit,
  })
  return {
    d,
    out: () => taken,
    notices,
    tick: () => {
      const f = pending
      pending = null
      if (f === null) return false
      f()
      return true
    },
    script: (s) => (steps = s),
    slept: () => slept,
  }
}

const line = (i: number): string => `line ${i}\n`

/** A count, or a piece of one cut by a failure. */
const COUNT_OR_PIECE = /^(L|LO|LOS|LOST|LOST \d*)$/

describe('log destination queue', () => {
  it('a reader that takes everything: each line is written at once, in order, nothing is scheduled', () => {
    const r = rig(100)
    for (let i = 0; i < 5; i++) r.d.write(line(i))
    assert.equal(r.out(), [0, 1, 2, 3, 4].map(line).join(''))
    assert.equal(r.tick(), false)
  })

  it('a full pipe (nothing fits, then a few bytes at a time): lines wait, then go out whole and in order, without blocking the caller', () => {
    const r = rig(1000)
    r.script([{ take: 3 }, { take: 0 }])
    r.d.write(line(0)) // 3 bytes now, the rest later
    r.d.write(line(1))
    assert.equal(r.out(), 'lin')
    r.script([{ take: 4 }])
    for (let turns = 0; r.tick(); turns++) assert.ok(turns < 100, 'the retries end')
    assert.equal(r.out(), `${line(0)}${line(1)}`)
    assert.deepStrictEqual(r.notices, [])
  })

  it('a reader that does not read: past the limit lines are dropped, said once, and counted where they were lost once it reads again', () => {
    const r = rig(3 * line(0).length)
    r.script([{ take: 0 }])
    for (let i = 0; i < 10; i++) r.d.write(line(i)) // 0, 1, 2 wait; 3 to 9 are dropped
    assert.equal(r.out(), '')
    assert.equal(r.notices.length, 1)
    assert.match(r.notices[0] ?? '', /wait for a reader that does not read/)
    r.script([{ take: Infinity }])
    assert.ok(r.tick())
    assert.equal(r.out(), `${line(0)}${line(1)}${line(2)}${lost(7)}`, 'the loss is said as soon as the reader has taken what waited')
    r.d.write(line(10))
    assert.equal(r.out(), `${line(0)}${line(1)}${line(2)}${lost(7)}${line(10)}`)
    assert.equal(r.notices.length, 1, 'said once')
  })

  it('a destination that fails (EIO, ENOSPC): the line is dropped and said once; the next line that gets through is preceded by the count', () => {
    const r = rig(1000)
    r.script([{ fail: 'EIO: i/o error, write' }])
    r.d.write(line(0))
    r.d.write(line(1))
    assert.deepStrictEqual(r.notices, ['EIO: i/o error, write'])
    assert.equal(r.tick(), false, 'a failure is not retried on a timer')
    r.script([{ take: Infinity }])
    r.d.write(line(2))
    assert.equal(r.out(), `${lost(2)}${line(2)}`)
  })

  it('a line cut by a failure is ended before the count, so the next lines stay whole', () => {
    const r = rig(1000)
    r.script([{ take: 4 }, { fail: 'ENOSPC: no space left on device, write' }, { take: Infinity }])
    r.d.write(line(0))
    r.d.write(line(1))
    assert.equal(r.out(), `line\n${lost(1)}${line(1)}`)
  })

  it('at exit, what waits is written if the reader takes it within the budget, and the loss is said', () => {
    const r = rig(2 * line(0).length)
    r.script([{ take: 0 }])
    for (let i = 0; i < 4; i++) r.d.write(line(i))
    r.script([{ take: 0 }, { take: 0 }, { take: Infinity }])
    r.d.drainSync(1000)
    assert.equal(r.out(), `${line(0)}${line(1)}${lost(2)}`)
    assert.equal(r.slept(), 2)
  })

  it('at exit, a reader that does not read holds the process for the budget only', () => {
    const r = rig(1000)
    r.script([{ take: 0 }])
    r.d.write(line(0))
    r.d.drainSync(50)
    assert.equal(r.slept(), 50)
    assert.equal(r.out(), '')
  })

  it('for any reader: every line out is whole (a cut one is ended on its own line), in order, and lines out plus lines counted lost are all lines', () => {
    const step = fc.oneof(
      { weight: 4, arbitrary: fc.integer({ min: 0, max: 40 }).map((take): Step => ({ take })) },
      { weight: 1, arbitrary: fc.constant<Step>({ fail: 'EIO' }) },
    )
    const action = fc.oneof(
      fc.record({ write: fc.integer({ min: 1, max: 30 }) }),
      fc.record({ tick: fc.constant(true) }),
      fc.record({ script: fc.array(step, { minLength: 1, maxLength: 5 }) }),
    )
    fc.assert(
      fc.property(fc.array(action, { maxLength: 80 }), fc.integer({ min: 10, max: 200 }), (actions, limit) => {
        const r = rig(limit)
        const written: string[] = []
        for (const a of actions) {
          if ('write' in a) {
            const l = `${written.length}:${'x'.repeat(a.write)}\n`
            written.push(l)
            r.d.write(l)
          } else if ('tick' in a) r.tick()
          else r.script(a.script)
        }
        r.script([{ take: Infinity }])
        r.tick()
        r.d.drainSync(10)
        const out = r.out().split('\n').slice(0, -1)
        assert.ok(r.out().endsWith('\n') || r.out() === '', 'ends with a whole line')
        let next = 0
        let counted = 0
        let seen = 0
        let either = 0 // lines (and counts) right before a count: one cut just before its newline is both
        for (const [i, l] of out.entries()) {
          const m = /^LOST (\d+)$/.exec(l)
          if (m !== null) {
            counted += Number(m[1])
            // a count cut just before its newline looks whole, and is counted again in the next
            if (COUNT_OR_PIECE.test(out[i + 1] ?? '')) either += Number(m[1])
            continue
          }
          const n = Number(l.slice(0, l.indexOf(':')))
          if (`${l}\n` === written[n]) {
            assert.ok(n >= next, `line ${n} after line ${next - 1}`)
            next = n + 1
            seen += 1
            if (COUNT_OR_PIECE.test(out[i + 1] ?? '')) either += 1
            continue
          }
          // a cut line: a piece of a line or of a count, ended on its own line; a count follows
          const piece = (p: string): boolean => written.some((w) => w.startsWith(p)) || COUNT_OR_PIECE.test(p)
          assert.ok(piece(l), `a piece of a line: ${l}`)
          const after = out.slice(i + 1).find((p) => !piece(p) || /^LOST \d+$/.test(p))
          assert.match(after ?? '', /^LOST \d+$/)
        }
        const what = `${seen} lines out and ${counted} counted lost of ${written.length}`
        assert.ok(seen + counted >= written.length && seen + counted - either <= written.length, what)
      }),
      { numRuns: 500 },
    )
  })
})
