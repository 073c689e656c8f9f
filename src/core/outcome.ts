/**
 * The outcome of a restart, as a value: logged, and sent to whoever asked for the restart (a control
 * request). Shared by the standalone lifecycle and the supervisor. Pure.
 */
import { type ChildFailure, describeFailure } from './failure'
import type { RestartSignal } from './signal'

/** Who asked for a restart: a signal, or a control request (answered with the outcome). */
export type RestartBy = { readonly _tag: 'Signal'; readonly signal: RestartSignal } | { readonly _tag: 'Request'; readonly id: number }

export type RestartOutcome =
  /** The new generation serves: its processes' pids. */
  | { readonly _tag: 'Restarted'; readonly generation: number; readonly pids: readonly number[] }
  /** The new generation did not come up; the old one serves on. */
  | { readonly _tag: 'RestartFailed'; readonly generation: number; readonly reason: string; readonly failure: ChildFailure | null }
  /** No restart was started, and why. */
  | { readonly _tag: 'RestartRefused'; readonly reason: string }

/** The failure of one process of a new generation, in words: "worker 1 exited with code 3 before it was ready". */
export const failedBecause = (who: string, failure: ChildFailure): string => `${who} ${describeFailure(failure)}`

export const describeOutcome = (o: RestartOutcome): string => {
  switch (o._tag) {
    case 'Restarted':
      return `generation ${o.generation} serves (pid${o.pids.length === 1 ? '' : 's'} ${o.pids.join(', ')})`
    case 'RestartFailed':
      return `generation ${o.generation} failed: ${o.reason}; the old generation serves on`
    case 'RestartRefused':
      return `restart refused: ${o.reason}`
  }
}

export const requestIds = (by: readonly RestartBy[]): readonly number[] => by.flatMap((b) => (b._tag === 'Request' ? [b.id] : []))
