/**
 * Runtime: holds a reducer's state (the lifecycle's, or the supervisor's), feeds it events, and runs the
 * effects each step returns in order, one after another. An effect that completes with an event (a
 * listener closed, a child that could not be spawned, a probation of no length) gives it back, and the
 * runtime dispatches it before the next effect runs: an effect never dispatches from inside itself.
 * Effects produced before an interpreter is attached wait for it.
 */
import * as O from 'fp-ts/Option'

/** Runs one effect; what it completes with, if anything, is the next event. */
export type Interpret<F, E> = (effect: F) => Promise<O.Option<E>>

/** Says that an effect's interpreter itself failed; the effects after it still run. */
export type Report<F> = (effect: F, error: unknown) => void

export interface Runtime<S, E, F> {
  readonly dispatch: (event: E) => void
  readonly state: () => S
  /** Attaches the interpreter and runs whatever effects are waiting. */
  readonly start: (interpret: Interpret<F, E>) => void
}

export const createRuntime = <S, E, F>(reduce: (state: S, event: E) => readonly [S, readonly F[]], initial: S, report: Report<F>): Runtime<S, E, F> => {
  let state = initial
  let interpret: Interpret<F, E> | undefined
  let waiting: F[] = []
  let chain = Promise.resolve()

  const run = (effects: readonly F[], by: Interpret<F, E>): void => {
    for (const effect of effects) {
      chain = chain
        .then(() => by(effect))
        .then((next) => {
          if (O.isSome(next)) dispatch(next.value)
        })
        .catch((error: unknown) => report(effect, error))
    }
  }

  const dispatch = (event: E): void => {
    const [next, effects] = reduce(state, event)
    state = next
    if (effects.length === 0) return
    if (interpret === undefined) waiting.push(...effects)
    else run(effects, interpret)
  }

  return {
    dispatch,
    state: () => state,
    start: (by) => {
      interpret = by
      run(waiting, by)
      waiting = []
    },
  }
}
