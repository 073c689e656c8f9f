/**
 * The supervisor's effect runner (modes/supervisor/interpreter.ts) with the real reducer and runtime over
 * fake OS capabilities: worker processes that are objects, timers fired by hand, no process started.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import * as TE from 'fp-ts/TaskEither'
import { type Config, type Milliseconds, MillisecondsOrZero } from '../../src/core/config'
import { type Event, initial, reduce, type State } from '../../src/core/supervisor'
import { interpret, type Os, type WorkerEvents } from '../../src/modes/supervisor/interpreter'
import { drive } from '../../src/shell/effects'
import { createRuntime } from '../../src/shell/runtime'
import { fakeTimers, memoryLog, settled } from '../support/fakes'

const ms = (n: number): Milliseconds => E.getOrElseW(() => assert.fail(`${n} ms`))(MillisecondsOrZero.decode(n))
const PROBATION = ms(1000)

interface Options {
  readonly probationMs?: Milliseconds
  /** Spawning fails for these worker ids. */
  readonly spawnThrows?: readonly number[]
}

/** A spawned worker: what the OS reports about it is the test's to call. */
interface Spawned {
  readonly id: number
  readonly slot: number
  readonly generation: number
  readonly on: WorkerEvents
}

/**
 * A supervisor of `size` workers over fake OS capabilities. `calls` is what it did, in order: each OS
 * call, and each log line (`log:<event>`, debug left out).
 */
const supervising = (size: number, o: Options = {}) => {
  const calls: string[] = []
  const note = (what: string): void => {
    calls.push(what)
  }
  const { after, timers } = fakeTimers(note)
  const spawned = new Map<number, Spawned>()
  const { log } = memoryLog()
  const runtime = createRuntime(reduce, initial(size), (fx, error) => assert.fail(`${fx._tag} threw past the runner: ${String(error)}`))
  const os: Os = {
    spawnWorker: (id, slot, generation, on) => {
      if (o.spawnThrows?.includes(id) === true) throw new Error('EMFILE')
      note(`spawn ${id} (slot ${slot}, generation ${generation})`)
      spawned.set(id, { id, slot, generation, on })
      return {
        askToStop: () => note(`ask ${id} to stop`),
        terminate: () => note(`terminate ${id}`),
        kill: () => note(`kill ${id}`),
        killWatched: () => note(`kill ${id} (watched)`),
        status: () => Promise.resolve({ active: id, accepted: id, state: 'Listening' }),
      }
    },
    after,
    announceServing: (generation, pids) => note(`serving: generation ${generation}, pids ${pids.join(',')}`),
    removeSocketFiles: () => TE.fromIO(() => note('remove socket files')),
    closeSockets: () => note('close sockets'),
    answer: (requests, outcome) => note(`answer [${requests.join(',')}] ${outcome._tag}`),
    closeControl: () => {
      note('close control')
      return Promise.resolve()
    },
    finish: (code) => {
      note(`finish ${code}`)
      return Promise.resolve()
    },
    log: (level, event) => {
      if (level !== 'debug') note(`log:${event}`)
    },
  }
  const runner = interpret(os, { probationMs: o.probationMs ?? PROBATION } satisfies Pick<Config, 'probationMs'>, runtime.dispatch)
  drive(runtime, runner.run, log)
  let seen = 0
  /** Dispatches the events, lets the effects run, and gives what was done since the last call. */
  const step = async (...events: Event[]): Promise<string[]> => {
    for (const e of events) runtime.dispatch(e)
    await settled()
    const fresh = calls.slice(seen)
    seen = calls.length
    return fresh
  }
  const worker = (id: number): WorkerEvents => spawned.get(id)?.on ?? assert.fail(`worker ${id} was never spawned`)
  /** Workers `ids` say ready, with pid 1000 + id. */
  const ready = async (...ids: number[]): Promise<string[]> => {
    for (const id of ids) worker(id).ready(1000 + id)
    return step()
  }
  return { runtime, runner, step, ready, worker, timers, state: (): State => runtime.state() }
}

const START: Event = { _tag: 'Start' }
const TERM: Event = { _tag: 'StopRequested', by: 'SIGTERM' }
const request = (id: number): Event => ({ _tag: 'RestartRequested', by: { _tag: 'Request', id } })

describe('supervisor effects over fake OS capabilities', () => {
  it('start: a whole generation is spawned, and announced once every worker is ready', async () => {
    const s = supervising(2)
    assert.deepStrictEqual(await s.step(START), ['log:generation-started', 'spawn 1 (slot 0, generation 1)', 'spawn 2 (slot 1, generation 1)'])
    assert.deepStrictEqual(await s.ready(1), [])
    assert.deepStrictEqual(await s.ready(2), ['log:generation-ready', 'serving: generation 1, pids 1001,1002'])
    assert.equal(s.state()._tag, 'Running')
  })

  it('restart: the new generation starts beside the old, serves beside it for the probation, then the old workers are asked to stop; the requester hears once they stopped accepting', async () => {
    const s = supervising(2)
    await s.step(START)
    await s.ready(1, 2)
    assert.deepStrictEqual(await s.step(request(7)), ['log:restart-requested', 'spawn 3 (slot 0, generation 2)', 'spawn 4 (slot 1, generation 2)'])
    assert.deepStrictEqual(await s.ready(3, 4), ['log:generation-ready', `timer ${PROBATION}`])
    s.timers[0]?.fire()
    assert.deepStrictEqual(await s.step(), ['log:generation-replaced', 'ask 1 to stop', 'ask 2 to stop'])
    s.worker(1).draining()
    assert.deepStrictEqual(await s.step(), [])
    s.worker(2).exited(1002, 0, null, 20_000)
    assert.deepStrictEqual(await s.step(), ['kill 2 (watched)', 'log:worker-exited', 'answer [7] Restarted'])
    const state = s.state()
    assert.ok(state._tag === 'Running' && state.current === 2)
    assert.deepStrictEqual(state.lastRestart._tag === 'Some' && state.lastRestart.value, { _tag: 'Restarted', generation: 2, pids: [1003, 1004] })
  })

  it('a probation of 0 ms passes as the generation is ready, with no timer: the effect completes with ProbationPassed', async () => {
    const s = supervising(1, { probationMs: ms(0) })
    await s.step(START)
    await s.ready(1)
    await s.step(request(7))
    assert.deepStrictEqual(await s.ready(2), ['log:generation-ready', 'log:generation-replaced', 'ask 1 to stop'])
    assert.equal(s.timers.length, 0)
  })

  it('workers are stopped the way the reducer says: a ready one is asked on its channel, one still starting is signalled', async () => {
    const s = supervising(2)
    await s.step(START)
    await s.ready(1, 2)
    s.worker(2).exited(1002, 1, null, 50)
    await s.step()
    s.timers[0]?.fire() // the respawn: worker 3 in slot 1, still starting at the stop
    await s.step()
    assert.deepStrictEqual(await s.step(TERM), ['log:stop-requested', 'remove socket files', 'close sockets', 'ask 1 to stop', 'terminate 3'])
  })

  it('a serving worker that crashes is respawned in its slot after the backoff (100 ms, then 200 ms), not before', async () => {
    const s = supervising(2)
    await s.step(START)
    await s.ready(1, 2)
    s.worker(1).exited(1001, 1, null, 50)
    assert.deepStrictEqual(await s.step(), ['kill 1 (watched)', 'log:worker-exited', 'timer 100'])
    assert.deepStrictEqual(await s.step(), [], 'nothing is spawned until the timer fires')
    s.timers[0]?.fire()
    assert.deepStrictEqual(await s.step(), ['log:worker-respawn', 'spawn 3 (slot 0, generation 1)'])
    s.worker(3).failed(1003, { _tag: 'Exited', code: 1, signal: null, reason: null })
    assert.deepStrictEqual(await s.step(), ['kill 3 (watched)', 'log:worker-exited', 'timer 200'])
  })

  it('a worker that cannot be spawned: the effect completes with WorkerFailed; in the first generation the server stops with exit 1', async () => {
    const s = supervising(2, { spawnThrows: [2] })
    assert.deepStrictEqual(await s.step(START), [
      'log:generation-started',
      'spawn 1 (slot 0, generation 1)',
      'log:start-failed',
      'kill 1 (watched)',
      'remove socket files',
      'close sockets',
    ])
    s.worker(1).failed(1001, { _tag: 'Exited', code: null, signal: 'SIGKILL', reason: null })
    assert.deepStrictEqual(await s.step(), ['kill 1 (watched)', 'log:worker-exited', 'close sockets', 'close control', 'finish 1'])
  })

  it('stop: socket files, sockets, then each worker drains; exit 0 once the last is gone; the status of a worker is asked of its process while it is there', async () => {
    const s = supervising(2)
    await s.step(START)
    await s.ready(1, 2)
    assert.deepStrictEqual(await s.step(TERM), ['log:stop-requested', 'remove socket files', 'close sockets', 'ask 1 to stop', 'ask 2 to stop'])
    assert.deepStrictEqual(await s.runner.status(1), { active: 1, accepted: 1, state: 'Listening' })
    s.worker(1).exited(1001, 0, null, 100)
    await s.step()
    assert.equal(await s.runner.status(1), null, 'a worker gone has no status')
    s.worker(2).exited(1002, 0, null, 100)
    assert.deepStrictEqual(await s.step(), ['kill 2 (watched)', 'log:worker-exited', 'close sockets', 'close control', 'finish 0'])
  })

  it('a second stop signal kills every worker and exits at once; timers set before are cancelled', async () => {
    const s = supervising(2)
    await s.step(START)
    await s.ready(1, 2)
    await s.step(request(7))
    await s.ready(3, 4) // the probation timer is set
    await s.step(TERM)
    assert.deepStrictEqual(await s.step({ _tag: 'StopRequested', by: 'SIGINT' }), [
      'log:forced-exit',
      'kill 1 (watched)',
      'kill 2 (watched)',
      'kill 3 (watched)',
      'kill 4 (watched)',
      `cancel ${PROBATION}`,
      'kill 1',
      'kill 2',
      'kill 3',
      'kill 4',
      'close sockets',
      'close control',
      'finish 130',
    ])
  })
})
