/**
 * Runtime: holds the lifecycle state, feeds it events, and runs the effects each step returns in order,
 * one after another. Effects produced before an interpreter is attached wait for it.
 */
import { type Effect, type Event, reduce, type State } from '../core/lifecycle'

export type Interpret = (effect: Effect) => Promise<void>

/** Says that an effect's interpreter itself failed; the effects after it still run. */
export type Report = (effect: Effect, error: unknown) => void

export interface Runtime {
  readonly dispatch: (event: Event) => void
  readonly state: () => State
  /** Attaches the interpreter and runs whatever effects are waiting. */
  readonly start: (interpret: Interpret) => void
}

export const createRuntime = (initial: State, report: Report): Runtime => {
  let state = initial
  let interpret: Interpret | undefined
  let waiting: Effect[] = []
  let chain = Promise.resolve()

  const run = (effects: readonly Effect[], by: Interpret): void => {
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
