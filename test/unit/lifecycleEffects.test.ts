/**
 * The lifecycle's effect runner (modes/lifecycle/interpreter.ts) with the real reducer and runtime over
 * fake OS capabilities: what a serving process does to the world, step by step, with no process started.
 */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import * as TE from 'fp-ts/TaskEither'
import { type Config, type Milliseconds, MillisecondsOrZero } from '../../src/core/config'
import { type Event, initial, reduce, type SuccessorFailure } from '../../src/core/lifecycle'
import { interpret, MAX_ACCEPT_TURNS, type Os } from '../../src/modes/lifecycle/interpreter'
import { drive } from '../../src/shell/effects'
import type { ChildEvents } from '../../src/shell/os/child'
import { createRuntime } from '../../src/shell/runtime'
import { fakeTimers, memoryLog, settled } from '../support/fakes'

type Settings = Pick<Config, 'probationMs' | 'drainTimeoutMs'>
const ms = (n: number): Milliseconds => E.getOrElseW(() => assert.fail(`${n} ms`))(MillisecondsOrZero.decode(n))
const PROBATION = ms(1000)
const DRAIN = ms(30_000)
const SETTINGS: Settings = { probationMs: PROBATION, drainTimeoutMs: O.some(DRAIN) }

interface Options {
  readonly settings?: Settings
  /** A successor cannot be spawned: spawnSuccessor throws this. */
  readonly spawnThrows?: string
  /** Writing the pidfile fails with this. */
  readonly pidfileFails?: string
  /** Each turn of the event loop while accepting what is queued: true brings a new connection. */
  readonly turnBrings?: (turn: number) => boolean
}

/**
 * A serving process over fake OS capabilities. `calls` is what it did, in order: each OS call, and each
 * log line (`log:<event>`, debug left out).
 */
const serving = (o: Options = {}) => {
  const calls: string[] = []
  const note = (what: string): void => {
    calls.push(what)
  }
  const { after, timers } = fakeTimers(note)
  const successors: Omit<ChildEvents, 'message'>[] = []
  const { log, lines } = memoryLog()
  let turns = 0
  const runtime = createRuntime(reduce, initial(1), (fx, error) => assert.fail(`${fx._tag} threw past the runner: ${String(error)}`))
  const os: Os = {
    spawnSuccessor: (attempt, on) => {
      if (o.spawnThrows !== undefined) throw new Error(o.spawnThrows)
      note(`spawn ${attempt}`)
      successors.push(on)
      return { kill: () => note(`kill ${attempt}`), terminate: () => note(`terminate ${attempt}`), release: () => note(`release ${attempt}`) }
    },
    after,
    nextTurn: () => {
      turns += 1
      note('turn')
      if (o.turnBrings?.(turns) === true) runtime.dispatch({ _tag: 'ConnectionOpened' })
      return Promise.resolve()
    },
    writePidfile: () => {
      note('pidfile')
      return o.pidfileFails === undefined ? TE.right(undefined) : TE.left(o.pidfileFails)
    },
    removeSocketFiles: () => TE.fromIO(() => note('remove socket files')),
    closeListeners: (reason) => note(`close listeners (${reason})`),
    destroyConnections: () => note('destroy connections'),
    answer: (requests, outcome) => note(`answer [${requests.join(',')}] ${outcome._tag}`),
    releaseControl: () => note('release control'),
    closeControl: (removeFile) => {
      note(removeFile ? 'close control, remove its file' : 'close control')
      return Promise.resolve()
    },
    stopped: (code) => {
      note(`stopped ${code}`)
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
  drive(runtime, interpret(os, o.settings ?? SETTINGS, runtime), log)
  /** Dispatches the events, lets the effects run, and gives what was done since the last call. */
  let seen = 0
  const step = async (...events: Event[]): Promise<string[]> => {
    for (const e of events) runtime.dispatch(e)
    await settled()
    const fresh = calls.slice(seen)
    seen = calls.length
    return fresh
  }
  return { runtime, step, timers, successors, lines, turns: () => turns }
}

const USR1: Event = { _tag: 'RestartRequested', by: { _tag: 'Signal', signal: 'SIGUSR1' } }
const TERM: Event = { _tag: 'StopRequested', by: 'SIGTERM' }
const OPENED: Event = { _tag: 'ConnectionOpened' }
const CLOSED: Event = { _tag: 'ConnectionClosed' }
const EXITED_1: SuccessorFailure = { _tag: 'Exited', code: 1, signal: null, reason: null }

describe('lifecycle effects over fake OS capabilities', () => {
  it('restart, ready, probation passed: the successor is released, the listeners close, the drain ends, the exit leaves the control file to the successor', async () => {
    const s = serving()
    assert.deepStrictEqual(await s.step(USR1), ['log:restart-requested', 'spawn 1'])
    s.successors[0]?.ready(200)
    assert.deepStrictEqual(await s.step(), ['log:successor-ready', `timer ${PROBATION}`])
    s.timers[0]?.fire()
    assert.deepStrictEqual(await s.step(), [
      'release control',
      'release 1',
      'log:handed-over',
      'answer [] Restarted',
      'close listeners (handoff)',
      `timer ${DRAIN} (unref)`,
      'log:draining',
      'log:drained',
      `cancel ${DRAIN}`,
      'stopped 0',
      'close control',
      'finish 0',
    ])
    assert.equal(s.runtime.state()._tag, 'Exited')
    assert.deepStrictEqual(s.runtime.state().lastRestart, O.some({ _tag: 'Restarted', generation: 2, pids: [200] }))
  })

  it('a probation of 0 ms passes as the successor is ready, with no timer: the effect completes with ProbationPassed', async () => {
    const s = serving({ settings: { probationMs: ms(0), drainTimeoutMs: O.none } })
    await s.step(USR1)
    s.successors[0]?.ready(200)
    assert.deepStrictEqual(await s.step(), [
      'log:successor-ready',
      'release control',
      'release 1',
      'log:handed-over',
      'answer [] Restarted',
      'close listeners (handoff)',
      'log:draining',
      'log:drained',
      'stopped 0',
      'close control',
      'finish 0',
    ])
    assert.equal(s.timers.length, 0)
  })

  it('a drain waits for the open connections; a final stop removes the socket files, accepts what is queued, and removes the control file at exit', async () => {
    const s = serving()
    assert.deepStrictEqual(await s.step(OPENED, OPENED, TERM), [
      'log:stop-requested',
      'remove socket files',
      'turn',
      'close listeners (stop)',
      `timer ${DRAIN} (unref)`,
      'log:draining',
    ])
    assert.deepStrictEqual(await s.step(CLOSED), [])
    assert.deepStrictEqual(await s.step(CLOSED), ['log:drained', `cancel ${DRAIN}`, 'stopped 0', 'close control, remove its file', 'finish 0'])
  })

  it('a final stop accepts until a turn of the event loop brings no connection, counting with the lifecycle, and at most 100 turns', async () => {
    const three = serving({ turnBrings: (turn) => turn <= 2 })
    await three.step(TERM)
    assert.equal(three.turns(), 3)
    assert.equal(three.runtime.state().connections.accepted, 2)
    const flood = serving({ turnBrings: () => true })
    await flood.step(TERM)
    assert.equal(flood.turns(), MAX_ACCEPT_TURNS)
  })

  it('the drain timeout destroys what is open and exits; a second stop signal exits at once without the exit hook', async () => {
    const s = serving()
    await s.step(OPENED, TERM)
    s.timers[0]?.fire()
    assert.deepStrictEqual(await s.step(), ['log:drain-timeout', 'destroy connections', 'stopped 0', 'close control, remove its file', 'finish 0'])
    const forced = serving()
    await forced.step(OPENED, TERM)
    assert.deepStrictEqual(await forced.step(TERM), ['log:forced-exit', `cancel ${DRAIN}`, 'close control, remove its file', 'finish 143'])
  })

  it('a successor that fails to start is killed and the pidfile names this process again; it serves on', async () => {
    const s = serving()
    await s.step(USR1)
    s.successors[0]?.failed(200, EXITED_1)
    assert.deepStrictEqual(await s.step(), ['kill 1', 'pidfile', 'log:successor-failed', 'answer [] RestartFailed'])
    assert.equal(s.runtime.state()._tag, 'Listening')
    assert.deepStrictEqual(await s.step(USR1), ['log:restart-requested', 'spawn 2'], 'the next restart is attempt 2')
  })

  it('a successor that cannot be spawned: the effect completes with SuccessorFailed, and the pidfile is restored', async () => {
    const s = serving({ spawnThrows: 'EAGAIN' })
    assert.deepStrictEqual(await s.step(USR1), ['log:restart-requested', 'pidfile', 'log:successor-failed', 'answer [] RestartFailed'])
    const state = s.runtime.state()
    assert.equal(state._tag, 'Listening')
    assert.ok(O.isSome(state.lastRestart) && state.lastRestart.value._tag === 'RestartFailed' && state.lastRestart.value.reason.includes('EAGAIN'))
  })

  it('a pidfile that cannot be written is logged (effect-failed) and the rest goes on', async () => {
    const s = serving({ pidfileFails: 'EACCES' })
    await s.step(USR1)
    s.successors[0]?.failed(200, EXITED_1)
    assert.deepStrictEqual(await s.step(), ['kill 1', 'pidfile', 'log:successor-failed', 'answer [] RestartFailed'])
    assert.deepStrictEqual(
      s.lines.filter((l) => l.fields.event === 'effect-failed').map((l) => l.message),
      ['RestorePidfile failed: EACCES'],
    )
  })

  it('a successor that crashes on probation is killed, its timer cancelled, the pidfile restored; a late timer changes nothing', async () => {
    const s = serving()
    await s.step(USR1)
    s.successors[0]?.ready(200)
    await s.step()
    s.successors[0]?.exited(200, 1, null)
    assert.deepStrictEqual(await s.step(), [`cancel ${PROBATION}`, 'kill 1', 'pidfile', 'log:successor-failed', 'answer [] RestartFailed'])
    s.timers[0]?.fire()
    assert.deepStrictEqual(await s.step(), [])
    assert.equal(s.runtime.state()._tag, 'Listening')
  })

  it('a stop during a restart: the successor is asked to stop, the pidfile restored, the drain is final; the successor is killed at exit if still there', async () => {
    const s = serving()
    await s.step(USR1)
    assert.deepStrictEqual(await s.step(TERM), [
      'log:stop-requested',
      'terminate 1',
      'pidfile',
      'log:successor-stopped',
      'answer [] RestartFailed',
      'remove socket files',
      'turn',
      'close listeners (stop)',
      `timer ${DRAIN} (unref)`,
      'log:draining',
      'log:drained',
      `cancel ${DRAIN}`,
      'kill 1',
      'stopped 0',
      'close control, remove its file',
      'finish 0',
    ])
  })

  it('a stop during the probation: the successor serves on (released, its probation cancelled); this process drains, leaving the socket and control files', async () => {
    const s = serving()
    await s.step(USR1)
    s.successors[0]?.ready(200)
    await s.step()
    assert.deepStrictEqual(await s.step(TERM), [
      'log:stop-requested',
      `cancel ${PROBATION}`,
      'release control',
      'release 1',
      'log:successor-released',
      'answer [] Restarted',
      'close listeners (stop)',
      `timer ${DRAIN} (unref)`,
      'log:draining',
      'log:drained',
      `cancel ${DRAIN}`,
      'stopped 0',
      'close control',
      'finish 0',
    ])
  })
})
