/**
 * The supervisor (`workers` in the config), as a pure reducer: `reduce(state, event)` gives the next
 * state and the effects to run, as plain data. This is what decides when a generation of workers starts,
 * when it replaces the serving one, when a worker is respawned, and when the supervisor exits. Import it
 * from `uninterruptible/supervisor` to test how a restart flow goes without starting processes.
 *
 * @packageDocumentation
 */
import { type Effect, type Event, initial as initialState, reduce, type State } from './core/supervisor'
import { type Replay, replayWith } from './core/replay'

export { reduce, respawnDelay, RESPAWN_MAX_MS, STABLE_MS } from './core/supervisor'
export type {
  Confirming,
  Created,
  Effect,
  Event,
  Exited,
  OnProbation,
  Pending,
  ReadyWorker,
  Running,
  Spawning,
  StartingWorker,
  State,
  StateBase,
  Step,
  Starting,
  Stopping,
  StoppingWorker,
  Worker,
  WorkerBase,
  WorkerPhase,
} from './core/supervisor'
export type { ChildFailure, Fields } from './core/failure'
export type { AnswerEffect, LogEffect, LogLevel, RestartBy, RestartOutcome } from './core/outcome'
export type { RestartSignal, StopSignal } from './core/signal'
export type { Replay, ReplayStep } from './core/replay'

/**
 * The state of a supervisor of `workers` workers, before its Start event.
 *
 * @param workers - how many workers a generation has
 */
export const initial = (workers: number): State => initialState(workers)

/**
 * Runs `events` through {@link reduce}, from `from` (a supervisor of 2 workers before its Start, by
 * default): the state at the end, every effect in order, and each step. For tests of a restart flow
 * without processes.
 *
 * @param events - the events, in order
 * @param from - the state to start from
 *
 * @example
 * A worker of a restart's new generation fails: that generation goes, and the serving one stays.
 * ```ts
 * import assert from 'node:assert/strict'
 * import { type Event, replay } from 'uninterruptible/supervisor'
 *
 * const run = replay([
 *   { _tag: 'Start' },
 *   { _tag: 'WorkerReady', id: 1, pid: 101 },
 *   { _tag: 'WorkerReady', id: 2, pid: 102 },
 *   { _tag: 'RestartRequested', by: { _tag: 'Request', id: 7 } }, // starts workers 3 and 4, generation 2
 *   { _tag: 'WorkerFailed', id: 3, pid: 103, failure: { _tag: 'Exited', code: 1, signal: null, reason: null } },
 * ] satisfies Event[])
 * assert.equal(run.state._tag, 'Running')
 * assert.ok(run.effects.some((e) => e._tag === 'Answer' && e.outcome._tag === 'RestartFailed'))
 * ```
 */
export const replay = (events: readonly Event[], from: State = initial(2)): Replay<State, Event, Effect> => replayWith(reduce, from, events)
