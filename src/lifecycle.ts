/**
 * The lifecycle of a serving process (a standalone server, or a supervisor's worker), as a pure reducer:
 * `reduce(state, event)` gives the next state and the effects to run, as plain data. This is what decides
 * a restart, its probation, a drain and an exit; the library runs the effects. Import it from
 * `uninterruptible/lifecycle` to test how a restart flow goes without starting processes.
 *
 * @packageDocumentation
 */
import { type Effect, type Event, initial as initialState, reduce, type State } from './core/lifecycle'
import { type Replay, replayWith } from './core/replay'

export { reduce }
export type {
  DrainReason,
  Draining,
  Effect,
  Event,
  Exited,
  Listening,
  ListenerState,
  OnStopSignal,
  Probation,
  Restarting,
  State,
  StateBase,
  Step,
  StopBy,
  Successor,
  SuccessorFailure,
} from './core/lifecycle'
export type { ChildFailure, Fields } from './core/failure'
export type { Counter } from './core/counter'
export type { AnswerEffect, LogEffect, LogLevel, RestartBy, RestartOutcome } from './core/outcome'
export type { RestartSignal, StopSignal } from './core/signal'
export type { Replay, ReplayStep } from './core/replay'

/**
 * The state of a process of generation `generation` (1: started by hand) that has just started to listen.
 *
 * @param generation - 1 for a process started by hand, one more for each restart
 */
export const initial = (generation = 1): State => initialState(generation)

/**
 * Runs `events` through {@link reduce}, from `from` (a first generation listening, by default): the state
 * at the end, every effect in order, and each step. For tests of a restart flow without processes.
 *
 * @param events - the events, in order
 * @param from - the state to start from
 *
 * @example
 * New code that fails to start: it is killed, the pidfile is ours again, and this process serves on.
 * ```ts
 * import assert from 'node:assert/strict'
 * import { type Event, replay } from 'uninterruptible/lifecycle'
 *
 * const restart: Event = { _tag: 'RestartRequested', by: { _tag: 'Signal', signal: 'SIGUSR1' } }
 * const failed: Event = { _tag: 'SuccessorFailed', attempt: 1, pid: 4242, failure: { _tag: 'Exited', code: 1, signal: null, reason: null } }
 * const run = replay([restart, failed])
 * assert.deepStrictEqual(run.effects.filter((e) => e._tag !== 'Log').map((e) => e._tag), ['SpawnSuccessor', 'KillSuccessor', 'RestorePidfile', 'Answer'])
 * assert.equal(run.state._tag, 'Listening')
 * ```
 */
export const replay = (events: readonly Event[], from: State = initial()): Replay<State, Event, Effect> => replayWith(reduce, from, events)
