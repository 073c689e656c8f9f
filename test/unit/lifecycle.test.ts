import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import * as O from 'fp-ts/Option'
import type { Counter } from '../../src/core/counter'
import { killedWhileBooting } from '../../src/core/failure'
import { type Draining, type Effect, type Event, initial, MAX_BOOT_RESPAWNS, reduce, type State, type SuccessorFailure } from '../../src/core/lifecycle'
import type { RestartBy, RestartOutcome } from '../../src/core/outcome'

// Effects in a readable form: logs by their event name, the rest as data.
type Summary = string | Exclude<Effect, { _tag: 'Log' }>
const summary = (effects: readonly Effect[]): Summary[] =>
  effects
    .filter((e) => !(e._tag === 'Log' && e.level === 'debug'))
    .map((e) => (e._tag === 'Log' ? `log:${e.event}` : e._tag === 'Answer' ? `answer:${e.outcome._tag}:[${e.requests.join(',')}]` : e))

const conns = (active: number, accepted = active): Counter => ({ active, accepted })
const SIGNAL: RestartBy = { _tag: 'Signal', signal: 'SIGUSR1' }
const listening = (active = 0, attempts = 0): State => ({ _tag: 'Listening', connections: conns(active), attempts, generation: 1, lastRestart: O.none })
const restarting = (active = 1, attempt = 1, by: readonly RestartBy[] = [SIGNAL], respawns = 0): State => ({ _tag: 'Restarting', connections: conns(active), attempts: attempt, generation: 1, lastRestart: O.none, attempt, by, respawns })
/** A drain: by default its listener has closed, a stop's next stop signal forces, and a successor serves only after a handoff. */
const draining = (reason: 'handoff' | 'stop', active = 1, attempts = 1, sub: Partial<Pick<Draining, 'listener' | 'onStopSignal' | 'successor'>> = {}): State => ({
  _tag: 'Draining',
  connections: conns(active),
  attempts,
  generation: 1,
  lastRestart: O.none,
  reason,
  successor: reason === 'handoff' ? 'serves' : 'none',
  listener: 'closed',
  onStopSignal: reason === 'stop' ? 'exit-now' : 'keep-draining',
  ...sub,
})
const CLOSING = { listener: 'closing' } as const
const exited = (code: number, active = 0, attempts = 1, accepted = active): State => ({ _tag: 'Exited', connections: conns(active, accepted), attempts, generation: 1, lastRestart: O.none, code })
/** What the table compares: the state but for `lastRestart`, which a property checks against every Answer. */
const unrecorded = (s: State): State => ({ ...s, lastRestart: O.none })

const RESTART: Event = { _tag: 'RestartRequested', by: SIGNAL }
const request = (id: number): Event => ({ _tag: 'RestartRequested', by: { _tag: 'Request', id } })
const TERM: Event = { _tag: 'StopRequested', by: 'SIGTERM' }
const BY_SUPERVISOR: Event = { _tag: 'StopRequested', by: 'supervisor' }
const INT: Event = { _tag: 'StopRequested', by: 'SIGINT' }
const READY1: Event = { _tag: 'SuccessorReady', attempt: 1, pid: 200 }
const READY_STALE: Event = { _tag: 'SuccessorReady', attempt: 7, pid: 207 }
const FAILED1: Event = { _tag: 'SuccessorFailed', attempt: 1, pid: 200, failure: { _tag: 'Exited', code: 1, signal: null, reason: null } }
const HUPPED1: Event = { _tag: 'SuccessorFailed', attempt: 1, pid: 200, failure: { _tag: 'Exited', code: null, signal: 'SIGHUP', reason: null } }
const FAILED_STALE: Event = { _tag: 'SuccessorFailed', attempt: 7, pid: 207, failure: { _tag: 'TimedOut', afterMs: 100, reason: null } }
const OPENED: Event = { _tag: 'ConnectionOpened' }
const CLOSED: Event = { _tag: 'ConnectionClosed' }
const DRAIN_TIMEOUT: Event = { _tag: 'DrainTimedOut' }
const LISTENER_CLOSED: Event = { _tag: 'ListenerClosed' }
const STOP_ACCEPTING = (final: boolean, reason: 'stop' | 'handoff' = final ? 'stop' : 'handoff'): Summary => ({ _tag: 'StopAccepting', reason, final })
const probation = (active = 1, attempt = 1, by: readonly RestartBy[] = [SIGNAL]): State => ({
  _tag: 'Probation',
  connections: conns(active),
  attempts: attempt,
  generation: 1,
  lastRestart: O.none,
  attempt,
  successorPid: 200,
  by,
})
const PASSED1: Event = { _tag: 'ProbationPassed', attempt: 1 }
const PASSED_STALE: Event = { _tag: 'ProbationPassed', attempt: 7 }
const CRASHED1: Event = { _tag: 'SuccessorExited', attempt: 1, pid: 200, code: 1, signal: null }
const KILLED1: Event = { _tag: 'SuccessorExited', attempt: 1, pid: 200, code: null, signal: 'SIGKILL' }
const STOPPED1: Event = { _tag: 'SuccessorExited', attempt: 1, pid: 200, code: 0, signal: null }
const STALLED: Event = { _tag: 'DrainStalled' }

type Row = readonly [name: string, state: State, event: Event, next: State, effects: Summary[]]

const table: readonly Row[] = [
  // Listening
  ['Listening + restart', listening(2), RESTART, restarting(2, 1), ['log:restart-requested', { _tag: 'SpawnSuccessor', attempt: 1 }]],
  ['Listening + restart numbers attempts', listening(0, 4), RESTART, { ...restarting(0, 5) }, ['log:restart-requested', { _tag: 'SpawnSuccessor', attempt: 5 }]],
  ['Listening(2) + TERM', listening(2), TERM, draining('stop', 2, 0, CLOSING), ['log:stop-requested', STOP_ACCEPTING(true), 'log:draining']],
  ['Listening(0) + INT waits for the listener to close', listening(0), INT, draining('stop', 0, 0, CLOSING), ['log:stop-requested', STOP_ACCEPTING(true), 'log:draining']],
  ['Listening + stale ready', listening(1), READY_STALE, listening(1), []],
  ['Listening + stale failure', listening(1), FAILED_STALE, listening(1), []],
  ['Listening + opened', listening(1), OPENED, { ...listening(2), connections: conns(2, 2) }, []],
  ['Listening + closed', listening(1), CLOSED, { ...listening(0), connections: conns(0, 1) }, []],
  ['Listening(0) + closed is reported, not counted', listening(0), CLOSED, listening(0), ['log:counter-underflow']],
  ['Listening + drain timeout', listening(1), DRAIN_TIMEOUT, listening(1), []],
  ['Listening + listener closed', listening(1), LISTENER_CLOSED, listening(1), []],
  // Restarting
  ['Restarting + restart is ignored', restarting(), RESTART, restarting(), ['log:restart-ignored']],
  ['Restarting + TERM stops the successor and drains', restarting(1), TERM, draining('stop', 1, 1, CLOSING), ['log:stop-requested', { _tag: 'StopSuccessor', attempt: 1 }, { _tag: 'RestorePidfile' }, 'log:successor-stopped', 'answer:RestartFailed:[]', STOP_ACCEPTING(true), 'log:draining']],
  ['Restarting(0) + TERM waits for the listener to close', restarting(0), TERM, draining('stop', 0, 1, CLOSING), ['log:stop-requested', { _tag: 'StopSuccessor', attempt: 1 }, { _tag: 'RestorePidfile' }, 'log:successor-stopped', 'answer:RestartFailed:[]', STOP_ACCEPTING(true), 'log:draining']],
  ['Restarting + ready starts the probation', restarting(3), READY1, probation(3), ['log:successor-ready', { _tag: 'StartProbation', attempt: 1 }]],
  ['Restarting + stale ready', restarting(), READY_STALE, restarting(), []],
  ['Restarting + failure goes back to Listening', restarting(2), FAILED1, listening(2, 1), [{ _tag: 'KillSuccessor', attempt: 1 }, { _tag: 'RestorePidfile' }, 'log:successor-failed', 'answer:RestartFailed:[]']],
  ['Restarting + killed by SIGHUP while booting starts it again', restarting(2), HUPPED1, restarting(2, 1, [SIGNAL], 1), [{ _tag: 'KillSuccessor', attempt: 1 }, 'log:killed-while-booting', { _tag: 'SpawnSuccessor', attempt: 1 }]],
  ['Restarting + killed by SIGUSR1 while booting, the third time, starts it again', restarting(0, 1, [SIGNAL], 2), { ...HUPPED1, failure: { _tag: 'Exited', code: null, signal: 'SIGUSR1', reason: null } }, restarting(0, 1, [SIGNAL], 3), [{ _tag: 'KillSuccessor', attempt: 1 }, 'log:killed-while-booting', { _tag: 'SpawnSuccessor', attempt: 1 }]],
  ['Restarting + killed by SIGHUP a fourth time fails the attempt', restarting(0, 1, [SIGNAL], 3), HUPPED1, listening(0, 1), [{ _tag: 'KillSuccessor', attempt: 1 }, { _tag: 'RestorePidfile' }, 'log:successor-failed', 'answer:RestartFailed:[]']],
  ['Restarting + killed by SIGTERM is a failure', restarting(0), { ...HUPPED1, failure: { _tag: 'Exited', code: null, signal: 'SIGTERM', reason: null } }, listening(0, 1), [{ _tag: 'KillSuccessor', attempt: 1 }, { _tag: 'RestorePidfile' }, 'log:successor-failed', 'answer:RestartFailed:[]']],
  ['Restarting + killed by SIGHUP after saying why is a failure', restarting(0), { ...HUPPED1, failure: { _tag: 'Exited', code: null, signal: 'SIGHUP', reason: 'it threw: x' } }, listening(0, 1), [{ _tag: 'KillSuccessor', attempt: 1 }, { _tag: 'RestorePidfile' }, 'log:successor-failed', 'answer:RestartFailed:[]']],
  ['Listening + a control request restarts for it', listening(0), request(5), restarting(0, 1, [{ _tag: 'Request', id: 5 }]), ['log:restart-requested', { _tag: 'SpawnSuccessor', attempt: 1 }]],
  ['Restarting + a control request is refused with the reason', restarting(), request(6), restarting(), ['log:restart-ignored', 'answer:RestartRefused:[6]']],
  ['Restarting(request 5) + failure answers it', restarting(0, 1, [{ _tag: 'Request', id: 5 }]), FAILED1, listening(0, 1), [{ _tag: 'KillSuccessor', attempt: 1 }, { _tag: 'RestorePidfile' }, 'log:successor-failed', 'answer:RestartFailed:[5]']],
  ['Restarting + stale failure', restarting(), FAILED_STALE, restarting(), []],
  ['Restarting + opened', restarting(1), OPENED, { ...restarting(2), connections: conns(2, 2) }, []],
  ['Restarting + closed', restarting(1), CLOSED, { ...restarting(0), connections: conns(0, 1) }, []],
  ['Restarting + drain timeout', restarting(), DRAIN_TIMEOUT, restarting(), []],
  ['Restarting + listener closed', restarting(), LISTENER_CLOSED, restarting(), []],
  // Probation: the successor serves, this process still accepts
  ['Probation + passed hands over', probation(3), PASSED1, draining('handoff', 3, 1, CLOSING), [{ _tag: 'ReleaseSuccessor', attempt: 1 }, 'log:handed-over', 'answer:Restarted:[]', STOP_ACCEPTING(false), 'log:draining']],
  ['Probation(0) + passed hands over, waiting for the close', probation(0), PASSED1, draining('handoff', 0, 1, CLOSING), [{ _tag: 'ReleaseSuccessor', attempt: 1 }, 'log:handed-over', 'answer:Restarted:[]', STOP_ACCEPTING(false), 'log:draining']],
  ['Probation(request 5) + passed answers it', probation(0, 1, [{ _tag: 'Request', id: 5 }]), PASSED1, draining('handoff', 0, 1, CLOSING), [{ _tag: 'ReleaseSuccessor', attempt: 1 }, 'log:handed-over', 'answer:Restarted:[5]', STOP_ACCEPTING(false), 'log:draining']],
  ['Probation + a control request is refused', probation(), request(6), probation(), ['log:restart-ignored', 'answer:RestartRefused:[6]']],
  ['Probation + stale passed', probation(), PASSED_STALE, probation(), []],
  ['Probation + a crash goes back to Listening', probation(2), CRASHED1, listening(2, 1), [{ _tag: 'KillSuccessor', attempt: 1 }, { _tag: 'RestorePidfile' }, 'log:successor-failed', 'answer:RestartFailed:[]']],
  ['Probation + a kill goes back to Listening', probation(2), KILLED1, listening(2, 1), [{ _tag: 'KillSuccessor', attempt: 1 }, { _tag: 'RestorePidfile' }, 'log:successor-failed', 'answer:RestartFailed:[]']],
  ['Probation + exit 0 (the successor was stopped): stop too, leaving the socket file', probation(2), STOPPED1, draining('stop', 2, 1, { listener: 'closing', onStopSignal: 'keep-draining', successor: 'serves' }), [{ _tag: 'ReleaseSuccessor', attempt: 1 }, 'log:successor-exited', 'answer:RestartFailed:[]', STOP_ACCEPTING(false, 'stop'), 'log:draining']],
  ['Probation + TERM releases the successor and drains, leaving the socket file', probation(2), TERM, draining('stop', 2, 1, { listener: 'closing', successor: 'serves' }), ['log:stop-requested', { _tag: 'ReleaseSuccessor', attempt: 1 }, 'log:successor-released', 'answer:Restarted:[]', STOP_ACCEPTING(false, 'stop'), 'log:draining']],
  ['Probation + restart is ignored', probation(), RESTART, probation(), ['log:restart-ignored']],
  ['Probation + ready', probation(), READY1, probation(), []],
  ['Probation + failure', probation(), FAILED1, probation(), []],
  ['Probation + opened', probation(1), OPENED, { ...probation(2), connections: conns(2, 2) }, []],
  ['Probation + closed', probation(1), CLOSED, { ...probation(0), connections: conns(0, 1) }, []],
  ['Probation + drain timeout', probation(), DRAIN_TIMEOUT, probation(), []],
  ['Probation + stalled', probation(), STALLED, probation(), []],
  ['Restarting + exit after ready', restarting(), CRASHED1, restarting(), []],
  ['Restarting + passed', restarting(), PASSED1, restarting(), []],
  ['Listening + stalled', listening(1), STALLED, listening(1), []],
  // Draining after a handoff
  ['Draining(handoff) + restart is ignored', draining('handoff'), RESTART, draining('handoff'), ['log:restart-ignored']],
  ['Draining(handoff) + TERM keeps draining', draining('handoff'), TERM, draining('stop', 1, 1, { successor: 'serves' }), ['log:stop-requested']],
  ['Draining(handoff) + a control stop changes nothing', draining('handoff'), { _tag: 'StopRequested', by: 'control' }, draining('handoff'), []],
  ['Draining(handoff) + ready', draining('handoff'), READY1, draining('handoff'), []],
  ['Draining(handoff) + failure', draining('handoff'), FAILED1, draining('handoff'), []],
  ['Draining(handoff) + opened', draining('handoff', 1), OPENED, { ...draining('handoff', 2), connections: conns(2, 2) }, []],
  ['Draining(handoff, 2) + closed', draining('handoff', 2), CLOSED, { ...draining('handoff', 1), connections: conns(1, 2) }, []],
  ['Draining(handoff, 1) + closed exits', draining('handoff', 1), CLOSED, exited(0, 0, 1, 1), ['log:drained', { _tag: 'Exit', code: 0, now: false, final: false }]],
  ['Draining(handoff) + drain timeout destroys and exits', draining('handoff', 3), DRAIN_TIMEOUT, exited(0, 3), ['log:drain-timeout', { _tag: 'DestroyConnections' }, { _tag: 'Exit', code: 0, now: false, final: false }]],
  // while the listener is still closing
  ['Draining(accepting, 0) + listener closed exits', draining('handoff', 0, 1, CLOSING), LISTENER_CLOSED, exited(0, 0, 1, 0), ['log:drained', { _tag: 'Exit', code: 0, now: false, final: false }]],
  ['Draining(accepting, 2) + listener closed keeps draining', draining('stop', 2, 1, CLOSING), LISTENER_CLOSED, draining('stop', 2, 1), []],
  ['Draining(accepting, 1) + closed does not exit yet', draining('stop', 1, 1, CLOSING), CLOSED, { ...draining('stop', 0, 1, CLOSING), connections: conns(0, 1) }, []],
  ['Draining(accepting) + opened counts it', draining('stop', 0, 1, CLOSING), OPENED, { ...draining('stop', 1, 1, CLOSING), connections: conns(1, 1) }, []],
  ['Draining(stop, accepting) + TERM forces exit', draining('stop', 0, 1, CLOSING), TERM, exited(143, 0), ['log:forced-exit', { _tag: 'Exit', code: 143, now: true, final: true }]],
  // Draining after a stop
  ['Draining(stop) + restart is ignored', draining('stop'), RESTART, draining('stop'), ['log:restart-ignored']],
  ['Draining(stop) + TERM forces exit 143', draining('stop', 2), TERM, exited(143, 2), ['log:forced-exit', { _tag: 'Exit', code: 143, now: true, final: true }]],
  ['Draining(stop) + INT forces exit 130', draining('stop', 2), INT, exited(130, 2), ['log:forced-exit', { _tag: 'Exit', code: 130, now: true, final: true }]],
  ['Draining(stop) + a second stop by the supervisor does not force', draining('stop', 2), BY_SUPERVISOR, draining('stop', 2), []],
  ['Listening + stop by the supervisor drains', listening(2), BY_SUPERVISOR, draining('stop', 2, 0, { listener: 'closing', onStopSignal: 'keep-draining' }), ['log:stop-requested', STOP_ACCEPTING(true), 'log:draining']],
  ['Draining(stop by the supervisor) + TERM is a first signal: it does not force', draining('stop', 2, 1, { onStopSignal: 'keep-draining' }), TERM, draining('stop', 2, 1), ['log:stop-requested']],
  ['Draining(stop) + ready', draining('stop'), READY1, draining('stop'), []],
  ['Draining(stop) + failure', draining('stop'), FAILED1, draining('stop'), []],
  ['Draining(stop) + opened', draining('stop', 1), OPENED, { ...draining('stop', 2), connections: conns(2, 2) }, []],
  ['Draining(stop, 1) + closed exits', draining('stop', 1), CLOSED, exited(0, 0, 1, 1), ['log:drained', { _tag: 'Exit', code: 0, now: false, final: true }]],
  ['Draining(stop) + drain timeout', draining('stop', 1), DRAIN_TIMEOUT, exited(0, 1), ['log:drain-timeout', { _tag: 'DestroyConnections' }, { _tag: 'Exit', code: 0, now: false, final: true }]],
  ['Draining(stop, 2) + stalled closes what is open', draining('stop', 2), STALLED, draining('stop', 2), ['log:drain-stalled', { _tag: 'DestroyConnections' }]],
  ['Draining(accepting) + stalled waits for the listener', draining('stop', 2, 1, CLOSING), STALLED, draining('stop', 2, 1, CLOSING), []],
  ['Draining + exit after ready', draining('handoff'), CRASHED1, draining('handoff'), []],
  // Exited: nothing happens any more
  ...[RESTART, TERM, INT, READY1, FAILED1, CRASHED1, PASSED1, OPENED, CLOSED, LISTENER_CLOSED, DRAIN_TIMEOUT, STALLED].map(
    (e): Row => [`Exited + ${e._tag}`, exited(0), e, exited(0), []],
  ),
]

describe('reduce: every state and event', () => {
  for (const [name, state, event, next, effects] of table) {
    it(name, () => {
      const [s, fx] = reduce(state, event)
      assert.deepStrictEqual(unrecorded(s), next)
      assert.deepStrictEqual(summary(fx), effects)
    })
  }

  it('logs the failure with its exit code', () => {
    const [, fx] = reduce(restarting(), FAILED1)
    const entry = fx.find((e) => e._tag === 'Log' && e.event === 'successor-failed')
    assert.deepStrictEqual(entry, {
      _tag: 'Log',
      level: 'error',
      event: 'successor-failed',
      message: 'restart attempt 1 failed: the successor exited with code 1 before it was ready; still serving',
      fields: { attempt: 1, successorPid: 200, failure: 'exited', exitCode: 1, signal: null },
    })
  })

  it('a standalone successor starts with the restart that made it as its last; a first process with none', () => {
    assert.deepStrictEqual(initial(3, O.some(300)).lastRestart, O.some({ _tag: 'Restarted', generation: 3, pids: [300] }))
    assert.deepStrictEqual(initial(1).lastRestart, O.none)
  })

  it('records how a restart ended, and not a refusal', () => {
    const [handedOver] = reduce(probation(0, 1, [{ _tag: 'Request', id: 5 }]), PASSED1)
    assert.deepStrictEqual(handedOver.lastRestart, O.some({ _tag: 'Restarted', generation: 2, pids: [200] }))
    const [refused] = reduce({ ...probation(), lastRestart: handedOver.lastRestart }, request(6))
    assert.deepStrictEqual(refused.lastRestart, handedOver.lastRestart)
    const [failed] = reduce(restarting(), FAILED1)
    assert.equal(O.isSome(failed.lastRestart) && failed.lastRestart.value._tag, 'RestartFailed')
  })

  it('states that are not allowed an event log why at debug level', () => {
    const [, fx] = reduce(listening(), READY_STALE)
    assert.deepStrictEqual(fx.map((e) => e._tag === 'Log' && e.level), ['debug'])
  })
})

// ---- properties over random event sequences ----------------------------------------------------

const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 2, arbitrary: fc.constantFrom<Event>(RESTART, { _tag: 'RestartRequested', by: { _tag: 'Signal', signal: 'SIGHUP' } }, request(1), request(2)) },
  { weight: 1, arbitrary: fc.constantFrom<Event>(TERM, INT, BY_SUPERVISOR) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }).map((attempt): Event => ({ _tag: 'SuccessorReady', attempt, pid: 100 + attempt })) },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.constantFrom<SuccessorFailure>({ _tag: 'Exited', code: 1, signal: null, reason: null }, { _tag: 'Exited', code: null, signal: 'SIGHUP', reason: null }, { _tag: 'TimedOut', afterMs: 5, reason: null }, { _tag: 'SpawnFailed', message: 'ENOENT' }))
      .map(([attempt, failure]): Event => ({ _tag: 'SuccessorFailed', attempt, pid: 100 + attempt, failure })),
  },
  {
    weight: 2,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 4 }), fc.constantFrom([0, null], [1, null], [null, 'SIGKILL']))
      .map(([attempt, [code, signal]]): Event => ({ _tag: 'SuccessorExited', attempt, pid: 100 + attempt, code, signal })),
  },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 4 }).map((attempt): Event => ({ _tag: 'ProbationPassed', attempt })) },
  { weight: 1, arbitrary: fc.constant<Event>(STALLED) },
  { weight: 5, arbitrary: fc.constant<Event>(OPENED) },
  { weight: 5, arbitrary: fc.constant<Event>(CLOSED) },
  { weight: 1, arbitrary: fc.constant<Event>(DRAIN_TIMEOUT) },
  { weight: 2, arbitrary: fc.constant<Event>(LISTENER_CLOSED) },
)

interface Trace {
  readonly steps: readonly { readonly before: State; readonly event: Event; readonly after: State; readonly effects: readonly Effect[] }[]
}

const run = (events: readonly Event[]): Trace => {
  let state = initial(1)
  const steps = events.map((event) => {
    const [after, effects] = reduce(state, event)
    const step = { before: state, event, after, effects }
    state = after
    return step
  })
  return { steps }
}

const sequences = fc.array(event, { maxLength: 200 })

describe('reduce: properties', () => {
  it('the count is never negative and equals opens minus closes of open connections', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        let model = 0
        for (const { before, event, after, effects } of run(events).steps) {
          assert.ok(after.connections.active >= 0)
          if (before._tag === 'Exited') continue
          const underflow = effects.some((e) => e._tag === 'Log' && e.event === 'counter-underflow')
          if (event._tag === 'ConnectionOpened') model += 1
          if (event._tag === 'ConnectionClosed') {
            assert.equal(underflow, model === 0)
            model = Math.max(0, model - 1)
          }
          assert.equal(after.connections.active, model)
        }
      }),
    )
  })

  it('at most one restart is in flight, and attempts are numbered afresh', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        const inFlight = new Set<number>()
        let last = 0
        for (const { effects } of run(events).steps) {
          let killed: number | undefined
          for (const e of effects) {
            if (e._tag === 'SpawnSuccessor') {
              assert.equal(inFlight.size, 0, 'a second successor was spawned while one is in flight')
              // a respawn (after a signal killed the successor while Node booted) keeps its attempt's number
              assert.ok(e.attempt > last || e.attempt === killed, `attempt ${e.attempt} spawned again without a respawn`)
              last = e.attempt
              inFlight.add(e.attempt)
            }
            if (e._tag === 'KillSuccessor') killed = e.attempt
            if (e._tag === 'KillSuccessor' || e._tag === 'StopSuccessor' || e._tag === 'ReleaseSuccessor') {
              assert.ok(inFlight.has(e.attempt), `${e._tag} for attempt ${e.attempt} that is not in flight`)
              inFlight.delete(e.attempt)
            }
          }
          assert.ok(inFlight.size <= 1)
        }
      }),
    )
  })

  it('exits once, and only when the listener is closed and nothing is open, or when forced', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        let exits = 0
        let listenerClosed = false
        for (const { before, event, after, effects } of run(events).steps) {
          if (before._tag === 'Draining' && event._tag === 'ListenerClosed') listenerClosed = true
          const exit = effects.find((e) => e._tag === 'Exit')
          if (exit === undefined) continue
          exits += 1
          const forcedBySignal = before._tag === 'Draining' && before.onStopSignal === 'exit-now' && event._tag === 'StopRequested' && (event.by === 'SIGTERM' || event.by === 'SIGINT')
          const forcedByTimeout = before._tag === 'Draining' && event._tag === 'DrainTimedOut'
          const drained = after.connections.active === 0 && listenerClosed
          assert.ok(drained || forcedBySignal || forcedByTimeout, 'exit while the listener may accept or connections are open, and nothing forced it')
          assert.equal(after._tag, 'Exited')
          assert.equal(effects[effects.length - 1], exit, 'Exit is the last effect')
        }
        assert.ok(exits <= 1)
      }),
    )
  })

  it('nothing happens after exit, and a stop is never undone', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        let stopped = false
        let acceptingStopped = 0
        for (const { before, after, effects } of run(events).steps) {
          if (before._tag === 'Exited') assert.deepStrictEqual([after, effects], [before, []])
          for (const e of effects) {
            if (e._tag === 'StopAccepting') acceptingStopped += 1
            if (e._tag === 'SpawnSuccessor') assert.equal(acceptingStopped, 0, 'spawned a successor after accepting stopped')
          }
          if (after._tag === 'Draining' || after._tag === 'Exited') stopped = true
          if (stopped) assert.ok(after._tag === 'Draining' || after._tag === 'Exited')
        }
        assert.ok(acceptingStopped <= 1, 'StopAccepting more than once')
      }),
    )
  })

  it('a handoff happens only for the attempt in flight and only after its probation, and a failure or crash always returns to Listening', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        for (const { before, event, after } of run(events).steps) {
          if (before._tag === 'Restarting') {
            if (event._tag === 'SuccessorReady' && event.attempt === before.attempt) assert.equal(after._tag, 'Probation')
            if (event._tag === 'SuccessorReady' && event.attempt !== before.attempt) assert.equal(after, before)
            if (event._tag === 'SuccessorFailed' && event.attempt === before.attempt) {
              const respawn = killedWhileBooting(event.failure) && before.respawns < MAX_BOOT_RESPAWNS
              assert.equal(after._tag, respawn ? 'Restarting' : 'Listening')
              if (after._tag === 'Restarting') assert.equal(after.respawns, before.respawns + 1)
            }
            if (after._tag === 'Restarting') assert.ok(after.respawns <= MAX_BOOT_RESPAWNS)
          }
          if (before._tag === 'Probation' && event._tag !== 'StopRequested') {
            const mine = 'attempt' in event && event.attempt === before.attempt
            if (event._tag === 'ProbationPassed' && mine) assert.equal(after._tag, 'Draining')
            else if (event._tag === 'SuccessorExited' && mine) assert.equal(after._tag, event.code === 0 ? 'Draining' : 'Listening')
            else assert.notEqual(after._tag, 'Draining', `${event._tag} ended a probation`)
          }
          if (after._tag === 'Draining' && before._tag !== 'Draining' && event._tag !== 'StopRequested') {
            assert.equal(before._tag, 'Probation', 'a handoff drain starts only from a probation')
          }
        }
      }),
    )
  })

  it('each control request gets one answer at most, and only once it was asked; a restart in flight answers when it ends', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        const asked = new Map<number, number>()
        for (const { before, event, after, effects } of run(events).steps) {
          if (event._tag === 'RestartRequested' && event.by._tag === 'Request' && before._tag !== 'Exited') asked.set(event.by.id, (asked.get(event.by.id) ?? 0) + 1)
          for (const e of effects) {
            if (e._tag !== 'Answer') continue
            for (const r of e.requests) assert.ok((asked.get(r) ?? 0) > 0, `answered request ${r}, which nobody sent`)
          }
          const ended = (before._tag === 'Restarting' || before._tag === 'Probation') && after._tag !== before._tag && !(before._tag === 'Restarting' && after._tag === 'Probation')
          if (ended) assert.equal(effects.filter((e) => e._tag === 'Answer').length, 1, `${before._tag} ended on ${event._tag} without one outcome`)
        }
      }),
    )
  })

  it('the last restart on record is the outcome of the last Answer that was not a refusal', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        let last: O.Option<RestartOutcome> = O.none
        for (const { after, effects } of run(events).steps) {
          for (const e of effects) if (e._tag === 'Answer' && e.outcome._tag !== 'RestartRefused') last = O.some(e.outcome)
          assert.deepStrictEqual(after.lastRestart, last)
        }
      }),
    )
  })

  it('the exit removes what only the last process may (the control socket file) exactly when the drain was final', () => {
    // half the runs start on probation, so that many drains begin with a successor serving
    const fromProbation = fc.tuple(fc.boolean(), sequences).map(([probation, rest]) => (probation ? [RESTART, READY1, ...rest] : rest))
    fc.assert(
      fc.property(fromProbation, (events) => {
        // before, the shell kept the StopAccepting's flag and read it at exit
        let final: boolean | undefined
        for (const { effects } of run(events).steps) {
          for (const e of effects) {
            if (e._tag === 'StopAccepting') final = e.final
            if (e._tag === 'Exit') assert.equal(e.final, final, 'Exit does not carry the flag its drain began with')
          }
        }
      }),
    )
  })

  it('the socket file is left to the successor whenever one serves: only a drain with no successor serving is final', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        for (const { before, effects } of run(events).steps) {
          for (const e of effects) {
            if (e._tag === 'StopAccepting') assert.equal(e.final, before._tag === 'Listening' || before._tag === 'Restarting')
          }
        }
      }),
    )
  })
})
