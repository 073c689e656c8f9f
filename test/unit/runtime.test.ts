import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as O from 'fp-ts/Option'
import { createRuntime } from '../../src/shell/runtime'

// A toy reducer: each event is a number; the state is their list; each event n asks for effects n.a, n.b.
type Ev = number
type Fx = string
const reduce = (state: readonly Ev[], e: Ev): readonly [readonly Ev[], readonly Fx[]] => [[...state, e], e < 0 ? [] : [`${e}.a`, `${e}.b`]]

/** Lets the effect chain run to its end. */
const settled = (): Promise<void> => new Promise((resolve) => setImmediate(resolve))

describe('runtime', () => {
  it('runs each step\'s effects in order, one after another: one still running holds back the rest', async () => {
    const rt = createRuntime(reduce, [], () => assert.fail('nothing fails'))
    const log: string[] = []
    let open = (): void => undefined
    const gate = new Promise<void>((resolve) => (open = resolve))
    rt.start(async (fx) => {
      log.push(`start ${fx}`)
      if (fx === '1.a') await gate
      log.push(`end ${fx}`)
      return O.none
    })
    rt.dispatch(1)
    rt.dispatch(2)
    assert.deepStrictEqual(rt.state(), [1, 2], 'the state changes at once; only effects wait')
    await settled()
    assert.deepStrictEqual(log, ['start 1.a'])
    open()
    await settled()
    assert.deepStrictEqual(log, ['start 1.a', 'end 1.a', 'start 1.b', 'end 1.b', 'start 2.a', 'end 2.a', 'start 2.b', 'end 2.b'])
  })

  it('keeps the effects of events dispatched before start, and runs them once started, in order', async () => {
    const rt = createRuntime(reduce, [], () => assert.fail('nothing fails'))
    rt.dispatch(1)
    rt.dispatch(2)
    const ran: string[] = []
    await settled()
    assert.equal(ran.length, 0, 'nothing runs before start')
    rt.start((fx) => {
      ran.push(fx)
      return Promise.resolve(O.none)
    })
    rt.dispatch(3)
    await settled()
    assert.deepStrictEqual(ran, ['1.a', '1.b', '2.a', '2.b', '3.a', '3.b'])
  })

  it('reports an effect that throws or rejects, and runs the rest', async () => {
    const reported: [Fx, string][] = []
    const rt = createRuntime(reduce, [], (fx, error) => reported.push([fx, error instanceof Error ? error.message : String(error)]))
    const ran: string[] = []
    rt.start((fx) => {
      if (fx === '1.a') throw new Error('boom')
      if (fx === '2.a') return Promise.reject(new Error('late boom'))
      ran.push(fx)
      return Promise.resolve(O.none)
    })
    rt.dispatch(1)
    rt.dispatch(2)
    await settled()
    assert.deepStrictEqual(reported, [['1.a', 'boom'], ['2.a', 'late boom']])
    assert.deepStrictEqual(ran, ['1.b', '2.b'])
  })

  it('dispatches the event an effect completes with, after that effect and before the next one', async () => {
    const rt = createRuntime(reduce, [], () => assert.fail('nothing fails'))
    const ran: string[] = []
    rt.start((fx) => {
      ran.push(`${fx} (state ${rt.state().join(',')})`)
      return Promise.resolve(fx === '1.a' ? O.some(-7) : O.none)
    })
    rt.dispatch(1)
    await settled()
    // -7 asks for no effects; it is in the state by the time 1.b runs
    assert.deepStrictEqual(ran, ['1.a (state 1)', '1.b (state 1,-7)'])
    assert.deepStrictEqual(rt.state(), [1, -7])
  })

  it('an event an effect completes with queues its own effects after those already waiting', async () => {
    const rt = createRuntime(reduce, [], () => assert.fail('nothing fails'))
    const ran: string[] = []
    rt.start((fx) => {
      ran.push(fx)
      return Promise.resolve(fx === '1.a' ? O.some(5) : O.none)
    })
    rt.dispatch(1)
    await settled()
    assert.deepStrictEqual(ran, ['1.a', '1.b', '5.a', '5.b'])
  })
})
