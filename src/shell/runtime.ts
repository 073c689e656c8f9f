/**
 * Runtime: holds a reducer's state (the lifecycle's, or the supervisor's), feeds it events, and runs the
 * effects each step returns in order, one after another. Effects produced before an interpreter is
 * attached wait for it.
 */

export type Interpret<F> = (effect: F) => Promise<void>

/** Says that an effect's interpreter itself failed; the effects after it still run. */
export type Report<F> = (effect: F, error: unknown) => void

export interface Runtime<S, E, F> {
  readonly dispatch: (event: E) => void
  readonly state: () => S
  /** Attaches the interpreter and runs whatever effects are waiting. */
  readonly start: (interpret: Interpret<F>) => void
}

export const createRuntime = <S, E, F>(reduce: (state: S, event: E) => readonly [S, readonly F[]], initial: S, report: Report<F>): Runtime<S, E, F> => {
  let state = initial
  let interpret: Interpret<F> | undefined
  let waiting: F[] = []
  let chain = Promise.resolve()

  const run = (effects: readonly F[], by: Interpret<F>): void => {
    for (const effect of effects) chain = chain.then(() => by(effect)).catch((error: unknown) => report(effect, error))
  }

  return {
    dispatch: (event) => {
      const [next, effects] = reduce(state, event)
      state = next
      if (effects.length === 0) return
      if (interpret === undefined) waiting.push(...effects)
      else run(effects, interpret)
    },
    state: () => state,
    start: (by) => {
      interpret = by
      run(waiting, by)
      waiting = []
    },
  }
}
