/**
 * How your tests can check a restart flow without starting processes: the library's lifecycle reducer,
 * from `uninterruptible/lifecycle`, driven through a restart that works, one whose new code fails to
 * start, and one whose new code crashes during its probation. (The README shows this file; `npm test`
 * runs it.)
 *
 *   node --import tsx --test examples/lifecycle.test.ts
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type Effect, type Event, initial, replay } from 'uninterruptible/lifecycle'

const restart: Event = { _tag: 'RestartRequested', by: { _tag: 'Signal', signal: 'SIGUSR1' } }
/** Effects other than log lines: what the process is asked to do. */
const actions = (effects: readonly Effect[]): string[] => effects.filter((e) => e._tag !== 'Log').map((e) => e._tag)
/** The log lines, by their event. */
const logged = (effects: readonly Effect[]): string[] => effects.flatMap((e) => (e._tag === 'Log' && e.level !== 'debug' ? [e.event] : []))

describe('a restart, step by step', () => {
  it('works: the successor is ready, passes its probation, and this process drains and exits', () => {
    const run = replay([
      restart,
      { _tag: 'SuccessorReady', attempt: 1, pid: 4242 },
      { _tag: 'ProbationPassed', attempt: 1 },
      { _tag: 'ListenerClosed' },
    ])
    assert.deepStrictEqual(actions(run.effects), ['SpawnSuccessor', 'StartProbation', 'ReleaseSuccessor', 'Answer', 'StopAccepting', 'Exit'])
    assert.equal(run.state._tag, 'Exited')
  })

  it('new code that fails to start: it is killed, the pidfile is ours again, and this process serves on', () => {
    const run = replay([restart, { _tag: 'SuccessorFailed', attempt: 1, pid: 4242, failure: { _tag: 'Exited', code: 1, signal: null, reason: 'it threw: no DATABASE_URL' } }])
    assert.deepStrictEqual(actions(run.effects), ['SpawnSuccessor', 'KillSuccessor', 'RestorePidfile', 'Answer'])
    assert.ok(logged(run.effects).includes('successor-failed'))
    assert.equal(run.state._tag, 'Listening')
  })

  it('new code that crashes during its probation: this process never stopped listening, and goes on', () => {
    const run = replay([restart, { _tag: 'SuccessorReady', attempt: 1, pid: 4242 }, { _tag: 'SuccessorExited', attempt: 1, pid: 4242, code: 1, signal: null }])
    assert.ok(!actions(run.effects).includes('StopAccepting'), 'it kept its listeners all along')
    assert.deepStrictEqual(actions(run.steps[2]?.effects ?? []), ['KillSuccessor', 'RestorePidfile', 'Answer'])
    assert.equal(run.state._tag, 'Listening')
    // and the next restart is a fresh attempt
    const again = replay([restart], run.state)
    assert.deepStrictEqual(again.effects.filter((e) => e._tag === 'SpawnSuccessor'), [{ _tag: 'SpawnSuccessor', attempt: 2 }])
  })

  it('connections keep a drain going until the last one closes', () => {
    const run = replay([{ _tag: 'ConnectionOpened' }, { _tag: 'StopRequested', by: 'SIGTERM' }, { _tag: 'ListenerClosed' }], initial())
    assert.equal(run.state._tag, 'Draining')
    const done = replay([{ _tag: 'ConnectionClosed' }], run.state)
    assert.equal(done.state._tag, 'Exited')
    assert.ok(actions(done.effects).includes('Exit'))
  })
})
