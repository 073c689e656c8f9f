/**
 * Replaying events through a reducer, for tests of a restart flow without processes: every step's state
 * and effects, and the state at the end. Pure.
 */

/**
 * One event through the reducer: the state it led to, and the effects it asked for.
 *
 * @typeParam S - the reducer's state
 * @typeParam V - its events
 * @typeParam F - its effects
 */
export interface ReplayStep<S, V, F> {
  /** The event. */
  readonly event: V
  /** The state after it. */
  readonly state: S
  /** The effects it asked for, in order. */
  readonly effects: readonly F[]
}

/**
 * What `replay` gives: the state at the end, every effect, and each step.
 *
 * @typeParam S - the reducer's state
 * @typeParam V - its events
 * @typeParam F - its effects
 */
export interface Replay<S, V, F> {
  /** The state after the last event. */
  readonly state: S
  /** Every effect, in the order the reducer asked for them. */
  readonly effects: readonly F[]
  /** Each event with the state it led to and its effects, in order. */
  readonly steps: readonly ReplayStep<S, V, F>[]
}

/** Runs `events` through `reduce`, from `from`. */
export const replayWith = <S, V, F>(reduce: (state: S, event: V) => readonly [S, readonly F[]], from: S, events: readonly V[]): Replay<S, V, F> => {
  let state = from
  const steps = events.map((event): ReplayStep<S, V, F> => {
    const [next, effects] = reduce(state, event)
    state = next
    return { event, state, effects }
  })
  return { state, effects: steps.flatMap((s) => s.effects), steps }
}
