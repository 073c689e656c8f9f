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

/** The state of a supervisor of `workers` workers, before its Start event. */
export const initial = (workers: number): State => initialState(workers)

/** Runs `events` through the reducer, from `from` (a supervisor of 2 workers before its Start, by default). */
export const replay = (events: readonly Event[], from: State = initial(2)): Replay<State, Event, Effect> => replayWith(reduce, from, events)
