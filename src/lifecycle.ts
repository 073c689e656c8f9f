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

/** The state of a process of generation `generation` (1: started by hand) that has just started to listen. */
export const initial = (generation = 1): State => initialState(generation)

/** Runs `events` through the reducer, from `from` (a first generation listening, by default). */
export const replay = (events: readonly Event[], from: State = initial()): Replay<State, Event, Effect> => replayWith(reduce, from, events)
