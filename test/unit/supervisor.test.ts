import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import * as O from 'fp-ts/Option'
import type { RestartOutcome } from '../../src/core/outcome'
import { type Effect, type Event, initial, type Pending, reduce, respawnDelay, RESPAWN_MAX_MS, STABLE_MS, type State, type Worker } from '../../src/core/supervisor'

// Effects in a readable form: logs by their event name, the rest as data.
type Summary = string | Exclude<Effect, { _tag: 'Log' }>
const summary = (effects: readonly Effect[]): Summary[] =>
  effects.filter((e) => !(e._tag === 'Log' && e.level === 'debug')).map((e) => (e._tag === 'Log' ? `log:${e.event}` : e))

const run = (events: readonly Event[], size = 2): { readonly state: State; readonly effects: readonly Effect[] } => {
  let state = initial(size)
  const effects: Effect[] = []
  for (const e of events) {
    const [next, fx] = reduce(state, e)
    state = next
    effects.push(...fx)
  }
  return { state, effects }
}

/** A restart's generation, while the supervisor runs. */
const pendingOf = (s: State): Pending | undefined => (s._tag === 'Running' ? O.toUndefined(s.pending) : undefined)
/** The generation being started: the first, or a restart's. */
const startingGeneration = (s: State): number | undefined => (s._tag === 'Starting' ? 1 : pendingOf(s)?.generation)
/** How many workers of the generation being started were started again after a stray signal killed them. */
const respawnsOf = (s: State): number | undefined => {
  const p = pendingOf(s)
  return s._tag === 'Starting' ? s.respawns : p?._tag === 'Spawning' ? p.respawns : undefined
}
const currentOf = (s: State): number => (s._tag === 'Running' ? s.current : 0)
const ask = (id: number): Summary => ({ _tag: 'StopWorker', id, how: 'ask' })

const START: Event = { _tag: 'Start' }
const ready = (id: number): Event => ({ _tag: 'WorkerReady', id, pid: 1000 + id })
const exited = (id: number, upMs = 50, code: number | null = 1): Event => ({ _tag: 'WorkerExited', id, pid: 1000 + id, code, signal: null, upMs })
const failed = (id: number, code = 3): Event => ({ _tag: 'WorkerFailed', id, pid: 1000 + id, failure: { _tag: 'Exited', code, signal: null, reason: null } })
const hupped = (id: number): Event => ({ _tag: 'WorkerFailed', id, pid: 1000 + id, failure: { _tag: 'Exited', code: null, signal: 'SIGHUP', reason: null } })
const USR1: Event = { _tag: 'RestartRequested', by: { _tag: 'Signal', signal: 'SIGUSR1' } }
const request = (id: number): Event => ({ _tag: 'RestartRequested', by: { _tag: 'Request', id } })
const TERM: Event = { _tag: 'StopRequested', by: 'SIGTERM' }
const STOP_BY_CONTROL: Event = { _tag: 'StopRequested', by: 'control' }
const passed = (generation: number): Event => ({ _tag: 'ProbationPassed', generation })
const draining = (id: number): Event => ({ _tag: 'WorkerDraining', id })

/** Two workers (ids 1, 2) of generation 1 serving. */
const SERVING = [START, ready(1), ready(2)]
/** And generation 2 (ids 3, 4) ready, on probation. */
const ON_PROBATION = [...SERVING, request(7), ready(3), ready(4)]

describe('supervisor reduce: scenarios', () => {
  it('a new worker killed by a stray signal while Node booted is started again in its slot, up to 3 times per generation; the 4th fails the restart', () => {
    const { state: s1 } = run([...SERVING, request(7)])
    const [s2, e2] = reduce(s1, hupped(3))
    assert.deepStrictEqual(summary(e2), [{ _tag: 'KillWorker', id: 3 }, 'log:killed-while-booting', { _tag: 'SpawnWorker', id: 5, slot: 0, generation: 2 }])
    assert.equal(respawnsOf(s2), 1)
    const [s3, e3] = reduce(reduce(s2, ready(4))[0], ready(5))
    assert.deepStrictEqual(summary(e3), ['log:generation-ready', { _tag: 'StartProbation', generation: 2 }])
    assert.equal(pendingOf(s3)?._tag, 'OnProbation')
    // three more in one generation: the third is started again, the fourth fails it
    const { state: t1 } = run([...SERVING, request(7), hupped(3), hupped(5), hupped(6)])
    assert.equal(respawnsOf(t1), 3)
    const [t2, e4] = reduce(t1, hupped(7))
    assert.ok(summary(e4).includes('log:generation-failed'))
    assert.equal(pendingOf(t2), undefined)
    // a worker that said why it failed, or died of another signal, fails the restart at once
    const [, e5] = reduce(s1, { _tag: 'WorkerFailed', id: 3, pid: 1003, failure: { _tag: 'Exited', code: null, signal: 'SIGTERM', reason: null } })
    assert.ok(summary(e5).includes('log:generation-failed'))
  })

  it('starts a whole generation, and announces it only once every worker is ready', () => {
    const a = run([START])
    assert.deepStrictEqual(summary(a.effects), ['log:generation-started', { _tag: 'SpawnWorker', id: 1, slot: 0, generation: 1 }, { _tag: 'SpawnWorker', id: 2, slot: 1, generation: 1 }])
    assert.equal(a.state._tag, 'Starting')
    const b = run([START, ready(1)])
    assert.equal(b.state._tag, 'Starting')
    const c = run(SERVING)
    assert.equal(c.state._tag, 'Running')
    assert.equal(currentOf(c.state), 1)
    assert.deepStrictEqual(summary(reduce(b.state, ready(2))[1]), ['log:generation-ready', { _tag: 'AnnounceServing', generation: 1, pids: [1001, 1002] }])
  })

  it('a first generation that fails exits 1: a worker still starting is killed, a ready one drains, the socket files go', () => {
    const { state } = run([START, ready(1)], 3)
    const [after, fx] = reduce(state, failed(2))
    assert.deepStrictEqual(summary(fx), ['log:start-failed', { _tag: 'KillWorker', id: 3 }, { _tag: 'RemoveSocketFiles' }, { _tag: 'CloseSockets' }, ask(1)])
    assert.equal(after._tag, 'Stopping')
    const [s2] = reduce(after, failed(3))
    const [done, last] = reduce(s2, exited(1, 999, 0))
    assert.equal(done._tag, 'Exited')
    assert.deepStrictEqual(summary(last).at(-1), { _tag: 'Exit', code: 1, now: false })
  })

  it('a restart: the new generation starts beside the old; old workers drain only once all new ones are ready and passed probation; the requester gets the pids once no old worker accepts', () => {
    const { state: s1, effects: e1 } = run([...SERVING, request(7)])
    assert.deepStrictEqual(summary(e1).slice(-3), ['log:restart-requested', { _tag: 'SpawnWorker', id: 3, slot: 0, generation: 2 }, { _tag: 'SpawnWorker', id: 4, slot: 1, generation: 2 }])
    const [s2, e2] = reduce(s1, ready(3))
    assert.ok(!summary(e2).some((e) => typeof e !== 'string' && e._tag === 'StopWorker'), 'nothing drains while a new worker is still starting')
    const [s3, e3] = reduce(s2, ready(4))
    assert.deepStrictEqual(summary(e3), ['log:generation-ready', { _tag: 'StartProbation', generation: 2 }])
    const [s4, e4] = reduce(s3, passed(2))
    assert.deepStrictEqual(summary(e4), ['log:generation-replaced', ask(1), ask(2)])
    assert.equal(currentOf(s4), 2)
    assert.equal(pendingOf(s4), undefined)
    // the answer waits until both old workers have closed their listeners (or are gone)
    const [s5, e5] = reduce(s4, draining(1))
    assert.deepStrictEqual(summary(e5), [])
    const [, e6] = reduce(s5, exited(2, 50, 0))
    assert.deepStrictEqual(
      summary(e6).filter((e) => typeof e !== 'string'),
      [{ _tag: 'Answer', requests: [7], outcome: { _tag: 'Restarted', generation: 2, pids: [1003, 1004] } }],
    )
  })

  it('a new worker that fails ends the attempt: a ready sibling drains, one still starting is killed, the old generation serves on, the requester hears why', () => {
    const { state } = run([...SERVING, request(7), ready(3)], 2)
    const three = run([START, ready(1), ready(2), ready(3), request(7), ready(4)], 3)
    const [after, fx] = reduce(state, failed(4, 3))
    assert.deepStrictEqual(summary(fx), [
      ask(3),
      'log:generation-failed',
      {
        _tag: 'Answer',
        requests: [7],
        outcome: {
          _tag: 'RestartFailed',
          generation: 2,
          reason: 'worker 1 (pid 1004) exited with code 3 before it was ready',
          failure: { _tag: 'Exited', code: 3, signal: null, reason: null },
          stopping: false,
        },
      },
    ])
    assert.equal(currentOf(after), 1)
    assert.equal(pendingOf(after), undefined)
    // with three workers: worker 4 is ready (it drains), 5 fails, 6 is still starting (killed)
    assert.deepStrictEqual(
      summary(reduce(three.state, failed(5))[1]).filter((e) => typeof e !== 'string' && e._tag !== 'Answer'),
      [{ _tag: 'KillWorker', id: 6 }, ask(4)],
    )
    // the next attempt gets a fresh generation number
    const [, next] = reduce(after, USR1)
    assert.ok(summary(next).some((e) => typeof e !== 'string' && e._tag === 'SpawnWorker' && e.generation === 3))
  })

  it('a new worker that dies during the probation ends the attempt too: its ready sibling drains, it is not killed', () => {
    const { state } = run(ON_PROBATION)
    const [after, fx] = reduce(state, exited(3, 200, null))
    assert.equal(currentOf(after), 1)
    assert.deepStrictEqual(summary(fx).slice(0, 2), [ask(4), 'log:generation-failed'])
    assert.ok(!fx.some((e) => e._tag === 'KillWorker'))
    assert.deepStrictEqual(reduce(after, passed(2))[0], after, 'a late probation timer changes nothing')
    // once it has drained, it is gone like any stopped worker
    const [gone, last] = reduce(after, exited(4, 300, 0))
    assert.deepStrictEqual(summary(last), ['log:worker-exited'])
    assert.deepStrictEqual(gone.workers.map((w) => w.id), [1, 2])
  })

  it('a second restart while one is in progress is refused with the reason', () => {
    const { state } = run([...SERVING, USR1])
    assert.deepStrictEqual(summary(reduce(state, request(9))[1]), [
      'log:restart-ignored',
      { _tag: 'Answer', requests: [9], outcome: { _tag: 'RestartRefused', reason: 'a restart is in progress (generation 2)' } },
    ])
  })

  it('a serving worker that dies is respawned after a backoff that grows while it keeps dying quickly, and resets once it served long', () => {
    const { state } = run(SERVING)
    const [s1, e1] = reduce(state, exited(1))
    assert.deepStrictEqual(summary(e1), ['log:worker-exited', { _tag: 'ScheduleRespawn', slot: 0, generation: 1, delayMs: 100 }])
    const [s2, e2] = reduce(s1, { _tag: 'RespawnDue', slot: 0, generation: 1 })
    assert.deepStrictEqual(summary(e2), ['log:worker-respawn', { _tag: 'SpawnWorker', id: 3, slot: 0, generation: 1 }])
    const [s3, e3] = reduce(s2, failed(3))
    assert.deepStrictEqual(summary(e3).at(-1), { _tag: 'ScheduleRespawn', slot: 0, generation: 1, delayMs: 200 })
    const [s4] = reduce(s3, { _tag: 'RespawnDue', slot: 0, generation: 1 })
    const [s5] = reduce(s4, ready(4))
    const [, e6] = reduce(s5, exited(4, STABLE_MS))
    assert.deepStrictEqual(summary(e6).at(-1), { _tag: 'ScheduleRespawn', slot: 0, generation: 1, delayMs: 100 })
  })

  it('stopping: socket files go first, the supervisor lets go of the sockets, every worker drains, exit 0 after the last; a second signal kills them and exits at once', () => {
    const { state } = run(SERVING)
    const [s1, e1] = reduce(state, TERM)
    assert.deepStrictEqual(summary(e1), ['log:stop-requested', { _tag: 'RemoveSocketFiles' }, { _tag: 'CloseSockets' }, ask(1), ask(2)])
    const [s2] = reduce(s1, exited(1, 999, 0))
    const [s3, e3] = reduce(s2, exited(2, 999, 0))
    assert.equal(s3._tag, 'Exited')
    assert.deepStrictEqual(summary(e3).at(-1), { _tag: 'Exit', code: 0, now: false })
    const [s4, e4] = reduce(s2, { _tag: 'StopRequested', by: 'SIGINT' })
    assert.equal(s4._tag, 'Exited')
    assert.deepStrictEqual(summary(e4).slice(1), [{ _tag: 'KillWorker', id: 2 }, { _tag: 'Exit', code: 130, now: true }])
  })

  it('a second stop by a control request does not force', () => {
    const { state } = run([...SERVING, TERM])
    assert.deepStrictEqual(reduce(state, STOP_BY_CONTROL)[0], state)
  })

  it('a stop during a restart answers the requester and stops both generations', () => {
    const { state } = run([...SERVING, request(5), ready(3)])
    const [, fx] = reduce(state, TERM)
    assert.deepStrictEqual(summary(fx).slice(1, 3), [
      { _tag: 'Answer', requests: [5], outcome: { _tag: 'RestartFailed', generation: 2, reason: 'the server is stopping', failure: null, stopping: true } },
      { _tag: 'RemoveSocketFiles' },
    ])
    assert.deepStrictEqual(
      fx.flatMap((e) => (e._tag === 'StopWorker' ? [e.id] : [])),
      [1, 2, 3, 4],
    )
  })

  it('the backoff doubles from 100 ms up to 30 s', () => {
    assert.deepStrictEqual([1, 2, 3, 4, 20].map(respawnDelay), [100, 200, 400, 800, RESPAWN_MAX_MS])
  })
})

// ---- properties over random event sequences ----------------------------------------------------

const SIZE = 3

/** Events about workers refer to ids the run may have given out (and some it has not). */
const event: fc.Arbitrary<Event> = fc.oneof(
  { weight: 1, arbitrary: fc.constant<Event>(START) },
  { weight: 2, arbitrary: fc.constantFrom<Event>(USR1, request(1), request(2)) },
  { weight: 1, arbitrary: fc.constantFrom<Event>(TERM, STOP_BY_CONTROL, { _tag: 'StopRequested', by: 'SIGINT' }) },
  { weight: 8, arbitrary: fc.integer({ min: 1, max: 16 }).map(ready) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 16 }).map((id) => failed(id)) },
  { weight: 2, arbitrary: fc.integer({ min: 1, max: 16 }).map(hupped) },
  { weight: 3, arbitrary: fc.tuple(fc.integer({ min: 1, max: 16 }), fc.constantFrom(10, STABLE_MS)).map(([id, up]) => exited(id, up)) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 5 }).map(passed) },
  { weight: 3, arbitrary: fc.integer({ min: 1, max: 16 }).map(draining) },
  { weight: 3, arbitrary: fc.tuple(fc.integer({ min: 0, max: SIZE - 1 }), fc.integer({ min: 1, max: 5 })).map(([slot, generation]): Event => ({ _tag: 'RespawnDue', slot, generation })) },
)

interface StepTrace {
  readonly before: State
  readonly event: Event
  readonly after: State
  readonly effects: readonly Effect[]
}

const trace = (events: readonly Event[]): readonly StepTrace[] => {
  let state = initial(SIZE)
  return events.map((e) => {
    const [after, effects] = reduce(state, e)
    const step = { before: state, event: e, after, effects }
    state = after
    return step
  })
}

const live = (s: State, generation: number): readonly Worker[] => s.workers.filter((w) => w.generation === generation && w.phase !== 'stopping')

describe('supervisor reduce: properties', () => {
  const sequences = fc.array(event, { maxLength: 150 })

  it('a generation starts a worker again after a stray signal killed it while booting at most 3 times, always in the dead one\'s slot', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        for (const { before, event: e, after, effects } of trace(events)) {
          assert.ok((respawnsOf(after) ?? 0) <= 3)
          const generation = startingGeneration(after)
          if (generation !== undefined && startingGeneration(before) === generation && (respawnsOf(after) ?? 0) > (respawnsOf(before) ?? 0)) {
            assert.ok(e._tag === 'WorkerFailed', `${e._tag} counted a respawn`)
            const dead = before.workers.find((w) => w.id === e.id)
            const spawned = effects.filter((x) => x._tag === 'SpawnWorker')
            assert.deepStrictEqual(spawned.map((x) => [x.slot, x.generation]), [[dead?.slot, dead?.generation]])
          }
        }
      }),
    )
  })

  it('at most one new generation at a time, and never more than two generations of live workers', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        for (const { after, effects } of trace(events)) {
          for (const e of effects) {
            if (e._tag === 'SpawnWorker') assert.ok(e.generation === currentOf(after) || e.generation === startingGeneration(after), `worker spawned for generation ${e.generation}`)
          }
          const generations = new Set(after.workers.filter((w) => w.phase !== 'stopping').map((w) => w.generation))
          assert.ok(generations.size <= 2)
          assert.ok(after.workers.filter((w) => w.phase !== 'stopping').length <= 2 * SIZE)
        }
      }),
    )
  })

  it('serving workers are asked to drain only after the whole new generation is ready and has passed its probation, or at a stop', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        for (const { before, event: e, effects } of trace(events)) {
          const drained = effects.filter((x) => x._tag === 'StopWorker')
          if (drained.length === 0 || e._tag === 'StopRequested') continue
          assert.ok(e._tag === 'ProbationPassed' || before._tag === 'Starting', `${e._tag} drained workers`)
          if (e._tag === 'ProbationPassed') {
            const gen = pendingOf(before)?.generation ?? -1
            assert.equal(pendingOf(before)?._tag, 'OnProbation')
            assert.equal(live(before, gen).length, SIZE)
            assert.ok(live(before, gen).every((w) => w.phase === 'ready'))
          }
        }
      }),
    )
  })

  it('outside restarts, every slot of the serving generation has a worker or a respawn on its way', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        const due = new Set<string>()
        for (const { after, effects, event: e } of trace(events)) {
          if (e._tag === 'RespawnDue') due.delete(`${e.slot}/${e.generation}`)
          for (const x of effects) if (x._tag === 'ScheduleRespawn') due.add(`${x.slot}/${x.generation}`)
          if (after._tag !== 'Running') continue
          for (let slot = 0; slot < SIZE; slot++) {
            const has = after.workers.some((w) => w.generation === after.current && w.slot === slot && w.phase !== 'stopping')
            assert.ok(has || due.has(`${slot}/${after.current}`), `slot ${slot} of generation ${after.current} is empty with no respawn due`)
          }
        }
      }),
    )
  })

  it('a restart is answered "restarted" only once every worker of the replaced generation has stopped accepting or is gone, and at most once', () => {
    // a restart brought to its probation first, so that most runs see one replace the old generation
    const restarts = fc
      .tuple(fc.array(event, { maxLength: 30 }), fc.array(event, { maxLength: 60 }))
      .map(([during, after]): readonly Event[] => [START, ready(1), ready(2), ready(3), request(1), ready(4), ready(5), ready(6), ...during, passed(2), ...after])
    fc.assert(
      fc.property(restarts, (events) => {
        const accepting = new Set<number>() // ready workers not known to have stopped accepting
        const answered = new Set<number>()
        for (const { before, event: e, after, effects } of trace(events)) {
          if (e._tag === 'WorkerDraining' || e._tag === 'WorkerExited' || e._tag === 'WorkerFailed') accepting.delete(e.id)
          if (e._tag === 'WorkerReady' && before.workers.some((w) => w.id === e.id && w.phase === 'starting')) accepting.add(e.id)
          if (e._tag === 'RestartRequested' && e.by._tag === 'Request') answered.delete(e.by.id) // the generator reuses ids
          for (const x of effects) {
            if (x._tag !== 'Answer' || x.outcome._tag !== 'Restarted') continue
            const generation = x.outcome.generation
            const old = before.workers.concat(after.workers).filter((w) => w.generation < generation && accepting.has(w.id) && after.workers.some((a) => a.id === w.id))
            if (e._tag !== 'StopRequested') assert.deepStrictEqual(old, [], `generation ${generation} answered while old workers may accept`)
            for (const r of x.requests) {
              assert.ok(!answered.has(r), `request ${r} answered twice`)
              answered.add(r)
            }
          }
        }
      }),
    )
  })

  it('a worker that has been ready is never killed but by a forced exit: it drains (a failed generation included)', () => {
    // a restart under way first (generation 2: ids 4 to 6), so that most runs see a new worker fail beside ready ones
    const restarts = fc
      .tuple(fc.array(fc.integer({ min: 4, max: 6 }).map(ready), { maxLength: 3 }), fc.array(event, { maxLength: 60 }))
      .map(([readied, after]): readonly Event[] => [START, ready(1), ready(2), ready(3), request(1), ...readied, ...after])
    fc.assert(
      fc.property(restarts, (events) => {
        const served = new Set<number>()
        for (const { before, event: e, effects } of trace(events)) {
          if (e._tag === 'WorkerReady' && before.workers.some((w) => w.id === e.id && w.phase === 'starting')) served.add(e.id)
          const forced = effects.some((x) => x._tag === 'Exit' && x.now)
          for (const x of effects) if (x._tag === 'KillWorker' && !forced) assert.ok(!served.has(x.id), `worker ${x.id} was ready, and ${e._tag} killed it`)
        }
      }),
    )
  })

  it('a stop lets go of the sockets once, after the socket files go and before any worker is asked to drain', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        let closed = 0
        for (const { before, after, effects } of trace(events)) {
          const i = effects.findIndex((x) => x._tag === 'CloseSockets')
          const stops = before._tag !== 'Stopping' && before._tag !== 'Exited' && (after._tag === 'Stopping' || after._tag === 'Exited')
          assert.equal(i >= 0, stops, `CloseSockets ${i >= 0 ? 'without' : 'missing at'} a stop (${before._tag} to ${after._tag})`)
          if (i < 0) continue
          closed += 1
          const removed = effects.findIndex((x) => x._tag === 'RemoveSocketFiles')
          assert.ok(removed >= 0 && removed < i, 'the socket files go first')
          effects.forEach((x, k) => assert.ok(x._tag !== 'StopWorker' || k > i, 'a worker is asked to drain only once the supervisor has let go'))
        }
        assert.ok(closed <= 1)
      }),
    )
  })

  it('the last restart on record is the outcome of the last Answer that was not a refusal', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        let last: O.Option<RestartOutcome> = O.none
        for (const { after, effects } of trace(events)) {
          for (const x of effects) if (x._tag === 'Answer' && x.outcome._tag !== 'RestartRefused') last = O.some(x.outcome)
          assert.deepStrictEqual(after.lastRestart, last)
        }
      }),
    )
  })

  it('a worker is stopped the way its phase says: a ready one is asked on its channel, one still starting is signalled, one stopping is left alone', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        for (const { before, effects } of trace(events)) {
          for (const x of effects) {
            if (x._tag !== 'StopWorker') continue
            const phase = before.workers.find((w) => w.id === x.id)?.phase
            assert.equal(x.how, phase === 'ready' ? 'ask' : 'terminate', `worker ${x.id} (${String(phase)}) stopped by ${x.how}`)
            assert.notEqual(phase, 'stopping', `worker ${x.id} stopped twice`)
          }
        }
      }),
    )
  })

  it('a stopping worker keeps its pid exactly when it had said ready', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        const pids = new Map<number, number>() // workers that said ready while starting
        for (const { before, event: e, after } of trace(events)) {
          if (e._tag === 'WorkerReady' && before.workers.some((w) => w.id === e.id && w.phase === 'starting')) pids.set(e.id, e.pid)
          for (const w of after.workers) if (w.phase === 'stopping') assert.deepStrictEqual(w.pid, pids.has(w.id) ? O.some(pids.get(w.id)) : O.none)
        }
      }),
    )
  })

  it('exits once: when nothing is alive, or forced by a second stop signal; every answer goes to a request that asked', () => {
    fc.assert(
      fc.property(sequences, (events) => {
        let exits = 0
        const asked = new Set<number>()
        for (const { before, event: e, after, effects } of trace(events)) {
          if (e._tag === 'RestartRequested' && e.by._tag === 'Request') asked.add(e.by.id)
          for (const x of effects) if (x._tag === 'Answer') for (const r of x.requests) assert.ok(asked.has(r))
          const exit = effects.find((x) => x._tag === 'Exit')
          if (exit === undefined) continue
          exits += 1
          assert.equal(after._tag, 'Exited')
          assert.ok(exit.now ? before._tag === 'Stopping' && e._tag === 'StopRequested' && e.by !== 'control' : after.workers.length === 0)
        }
        assert.ok(exits <= 1)
      }),
    )
  })
})
