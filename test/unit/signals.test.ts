import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { EARLY_SIGNALS_KEY, type EarlySignals } from '../../src/core/early'
import * as signals from '../../src/shell/os/signals'

// The module keeps one queue per process (Node's signal listeners are per process): these tests run in
// order and each leaves the queue empty and delivery released. Signals are emitted, never sent.
const emit = (s: NodeJS.Signals): boolean => process.emit(s, s)
// Node 24's test runner starts each file with diagnostic reports on SIGUSR2: an emitted SIGUSR2 would
// write a report.*.json into the working folder
process.report.reportOnSignal = false

/** Empties the queue. */
const drain = (): readonly NodeJS.Signals[] => {
  const d = signals.take(() => undefined)
  d.release()
  return d.queued
}

describe('signals', () => {
  it('listen installs one listener per signal, however often it is called; unlisten gives it back', () => {
    const before = process.listenerCount('SIGUSR2')
    signals.listen(['SIGUSR2'])
    signals.listen(['SIGUSR2'])
    assert.equal(process.listenerCount('SIGUSR2'), before + 1)
    signals.unlisten(['SIGUSR2'])
    assert.equal(process.listenerCount('SIGUSR2'), before)
  })

  it('queues signals until delivery is taken, hands the queue over oldest first, then delivers as they come; a release queues again', () => {
    signals.listen(['SIGUSR2', 'SIGHUP'])
    emit('SIGHUP')
    emit('SIGUSR2')
    assert.ok(signals.hasQueued(['SIGUSR2']))
    assert.ok(!signals.hasQueued(['SIGTERM']))
    const delivered: NodeJS.Signals[] = []
    const d = signals.take((s) => delivered.push(s))
    assert.deepStrictEqual(d.queued, ['SIGHUP', 'SIGUSR2'])
    assert.ok(!signals.hasQueued(['SIGUSR2', 'SIGHUP']), 'the queue was handed over, not copied')
    emit('SIGUSR2')
    assert.deepStrictEqual(delivered, ['SIGUSR2'])
    d.release()
    emit('SIGHUP')
    assert.deepStrictEqual(delivered, ['SIGUSR2'], 'nothing is delivered once released')
    assert.deepStrictEqual(drain(), ['SIGHUP'])
    signals.unlisten(['SIGUSR2', 'SIGHUP'])
  })

  it('keeps at most 64 signals while nobody takes delivery: the first ones', () => {
    signals.listen(['SIGUSR2', 'SIGHUP'])
    emit('SIGHUP')
    for (let i = 0; i < 200; i++) emit('SIGUSR2')
    const queued = drain()
    assert.equal(queued.length, 64)
    assert.deepStrictEqual(queued.slice(0, 2), ['SIGHUP', 'SIGUSR2'])
    signals.unlisten(['SIGUSR2', 'SIGHUP'])
  })

  it('takes over what the preload queued, in the same turn as its own listeners are installed, and stops the preload\'s listeners', () => {
    let stopped = 0
    const before = process.listenerCount('SIGHUP')
    let listening = -1
    const early: EarlySignals = {
      queued: ['SIGHUP', 'SIGTERM'],
      stop: () => {
        stopped += 1
        listening = process.listenerCount('SIGHUP')
      },
    }
    Reflect.set(globalThis, EARLY_SIGNALS_KEY, early)
    signals.listen(['SIGHUP'])
    assert.equal(stopped, 1)
    assert.equal(listening, before + 1, 'the library listens before the preload stops: no signal falls between them')
    assert.equal(Reflect.get(globalThis, EARLY_SIGNALS_KEY), undefined, 'adopted once')
    assert.deepStrictEqual(early.queued, [], 'the preload\'s queue is emptied: nothing is seen twice')
    signals.listen(['SIGHUP'])
    assert.equal(stopped, 1)
    emit('SIGHUP')
    assert.deepStrictEqual(drain(), ['SIGHUP', 'SIGTERM', 'SIGHUP'], 'the preload\'s signals come first')
    signals.unlisten(['SIGHUP'])
  })

  it('a preload queue adopted while delivery is taken is delivered at once', () => {
    const delivered: NodeJS.Signals[] = []
    const d = signals.take((s) => delivered.push(s))
    Reflect.set(globalThis, EARLY_SIGNALS_KEY, { queued: ['SIGUSR2'], stop: () => undefined } satisfies EarlySignals)
    signals.listen(['SIGUSR2'])
    assert.deepStrictEqual(delivered, ['SIGUSR2'])
    d.release()
    signals.unlisten(['SIGUSR2'])
  })

  it('unlistenOwn gives back the stop signals, SIGUSR2 and SIGHUP, and keeps SIGUSR1\'s listener (with none, SIGUSR1 opens the inspector)', () => {
    const own: readonly NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGUSR2', 'SIGHUP', 'SIGUSR1']
    const before = own.map((s) => process.listenerCount(s))
    signals.listen(own)
    signals.unlistenOwn()
    assert.deepStrictEqual(
      own.map((s) => process.listenerCount(s)),
      before.map((n, i) => (own[i] === 'SIGUSR1' ? n + 1 : n)),
    )
    signals.unlisten(['SIGUSR1'])
  })
})
