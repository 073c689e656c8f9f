import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import fc from 'fast-check'
import { requestReply, type Settled } from '../../src/shell/requestReply'
import { fakeTimers } from '../support/fakes'

/** A table over fake timers, and what each request it sent came back with (every time: a second settle would show). */
const setUp = () => {
  const { after, timers } = fakeTimers(() => undefined)
  const table = requestReply<string, string>(after)
  const sent: number[] = []
  const settled = new Map<number, Settled<string, string>[]>()
  let asked = 0
  const ask = (timeoutMs?: number): number => {
    // ids are 1, 2, ...: known before the request is settled, which may be at once
    const mine = ++asked
    const id = table.ask(
      (n) => sent.push(n),
      (r) => settled.set(mine, [...(settled.get(mine) ?? []), r]),
      timeoutMs,
    )
    assert.equal(id, mine)
    return id
  }
  return { table, timers, sent, settled, ask }
}

describe('requestReply', () => {
  it('gives each request a new id, puts it in what is sent, and settles it with the reply that names it', () => {
    const { table, sent, settled, ask } = setUp()
    const a = ask()
    const b = ask()
    assert.deepStrictEqual([a, b], [1, 2])
    assert.deepStrictEqual(sent, [1, 2])
    assert.equal(table.waiting(), 2)
    assert.equal(table.answer(2, 'two'), true)
    assert.equal(table.answer(1, 'one'), true)
    assert.deepStrictEqual(settled.get(1), [E.right('one')])
    assert.deepStrictEqual(settled.get(2), [E.right('two')])
    assert.equal(table.waiting(), 0)
  })

  it('refuses a late reply, a second reply and a reply for an id never sent, and settles nothing with them', () => {
    const { table, timers, settled, ask } = setUp()
    const a = ask(1000)
    timers[0]?.fire()
    assert.equal(table.answer(a, 'late'), false)
    const b = ask()
    assert.equal(table.answer(b, 'first'), true)
    assert.equal(table.answer(b, 'again'), false)
    assert.equal(table.answer(99, 'never asked'), false)
    assert.deepStrictEqual(settled.get(a), [E.left({ _tag: 'TimedOut', afterMs: 1000, reason: null })])
    assert.deepStrictEqual(settled.get(b), [E.right('first')])
  })

  it('answers the oldest request waiting with a reply that names no id (a peer that answers in order)', () => {
    const { table, settled, ask } = setUp()
    const a = ask()
    const b = ask()
    const c = ask()
    assert.equal(table.answer(b, 'b'), true)
    assert.equal(table.answer(undefined, 'first unnumbered'), true)
    assert.equal(table.answer(undefined, 'second unnumbered'), true)
    assert.equal(table.answer(undefined, 'none waits'), false)
    assert.deepStrictEqual(settled.get(a), [E.right('first unnumbered')])
    assert.deepStrictEqual(settled.get(c), [E.right('second unnumbered')])
  })

  it('times a request out after its own timeout; the timer goes once it is answered', () => {
    const { table, timers, settled, ask } = setUp()
    const a = ask(1000)
    const b = ask(5000)
    assert.deepStrictEqual(timers.map((t) => t.ms), [1000, 5000])
    table.answer(a, 'in time')
    assert.equal(timers[0]?.state(), 'cancelled')
    timers[1]?.fire()
    assert.deepStrictEqual(settled.get(a), [E.right('in time')])
    assert.deepStrictEqual(settled.get(b), [E.left({ _tag: 'TimedOut', afterMs: 5000, reason: null })])
    assert.equal(table.waiting(), 0)
  })

  it('sets no timer for a request without a timeout (a restart waits for its outcome)', () => {
    const { timers, ask } = setUp()
    ask()
    assert.equal(timers.length, 0)
  })

  it('settles every request waiting when the conversation closes, cancels their timers, and refuses later replies', () => {
    const { table, timers, settled, ask } = setUp()
    const a = ask(1000)
    const b = ask()
    table.close('the worker exited')
    assert.deepStrictEqual(settled.get(a), [E.left({ _tag: 'Closed', reason: 'the worker exited' })])
    assert.deepStrictEqual(settled.get(b), [E.left({ _tag: 'Closed', reason: 'the worker exited' })])
    assert.equal(timers[0]?.state(), 'cancelled')
    assert.equal(table.answer(a, 'too late'), false)
    table.close('closed twice')
    assert.equal(settled.get(a)?.length, 1)
  })

  it('settles a request asked once closed at once, with the first reason, and sends nothing', () => {
    const { table, sent, settled, ask } = setUp()
    table.close('gone')
    table.close('gone again')
    const a = ask(1000)
    assert.deepStrictEqual(sent, [])
    assert.deepStrictEqual(settled.get(a), [E.left({ _tag: 'Closed', reason: 'gone' })])
    assert.equal(table.waiting(), 0)
  })

  it('takes a reply that comes back while the request is being sent', () => {
    const table = requestReply<string, string>(fakeTimers(() => undefined).after)
    let got: Settled<string, string> | undefined
    table.ask(
      (id) => table.answer(id, 'at once'),
      (r) => (got = r),
    )
    assert.deepStrictEqual(got, E.right('at once'))
    assert.equal(table.waiting(), 0)
  })

  it('forgets a request whose sending threw, and lets the error through', () => {
    const { timers, after } = fakeTimers(() => undefined)
    const table = requestReply<string, string>(after)
    assert.throws(
      () =>
        table.ask(
          () => {
            throw new Error('EPIPE')
          },
          () => assert.fail('never settled'),
          1000,
        ),
      /EPIPE/,
    )
    assert.equal(table.waiting(), 0)
    assert.equal(timers[0]?.state(), 'cancelled')
  })

  it('request: the same as a promise', async () => {
    const table = requestReply<string, string>(fakeTimers(() => undefined).after)
    const p = table.request((id) => setImmediate(() => table.answer(id, `reply to ${id}`)))
    assert.deepStrictEqual(await p, E.right('reply to 1'))
  })

  it('whatever the order of replies, timeouts and a close: each request is settled exactly once, by its own reply when it got one in time', () => {
    type Step = { readonly _tag: 'ask'; readonly timeout: boolean } | { readonly _tag: 'answer'; readonly id: number | undefined } | { readonly _tag: 'fire'; readonly timer: number } | { readonly _tag: 'close' }
    const step: fc.Arbitrary<Step> = fc.oneof(
      fc.boolean().map((timeout): Step => ({ _tag: 'ask', timeout })),
      fc.option(fc.integer({ min: 1, max: 8 }), { nil: undefined }).map((id): Step => ({ _tag: 'answer', id })),
      fc.nat({ max: 8 }).map((timer): Step => ({ _tag: 'fire', timer })),
      fc.constant<Step>({ _tag: 'close' }),
    )
    fc.assert(
      fc.property(fc.array(step, { maxLength: 40 }), (steps) => {
        const { after, timers } = fakeTimers(() => undefined)
        const table = requestReply<string, string>(after)
        const settled = new Map<number, Settled<string, string>[]>()
        let asked = 0
        for (const s of steps) {
          if (s._tag === 'ask') {
            const id = ++asked
            table.ask(
              () => undefined,
              (r) => settled.set(id, [...(settled.get(id) ?? []), r]),
              s.timeout ? 1000 : undefined,
            )
          } else if (s._tag === 'answer') table.answer(s.id, `reply to ${String(s.id)}`)
          else if (s._tag === 'fire') timers[s.timer]?.fire()
          else table.close('closed')
        }
        for (const [id, all] of settled) {
          assert.equal(all.length, 1, `request ${id} settled ${all.length} times`)
          const [only] = all
          if (only !== undefined && E.isRight(only) && only.right !== 'reply to undefined') assert.equal(only.right, `reply to ${id}`)
        }
        // what is not settled still waits
        assert.equal(asked - settled.size, table.waiting())
      }),
    )
  })
})
