/**
 * Connection counter: how many accepted connections are still open, and how many were accepted in all.
 * A connection counts from accept until its socket has closed. Pure.
 */
import * as O from 'fp-ts/Option'

/** A process's connections: open now, and accepted in all. A connection counts from accept until its socket has closed. */
export interface Counter {
  /** Accepted and not closed yet: a drain ends when this is 0. */
  readonly active: number
  /** Accepted in all, by this process. */
  readonly accepted: number
}

export const empty: Counter = { active: 0, accepted: 0 }

export const opened = (c: Counter): Counter => ({ active: c.active + 1, accepted: c.accepted + 1 })

/** `none` when nothing is open: a close without an open is a bug the caller reports, never a negative count. */
export const closed = (c: Counter): O.Option<Counter> =>
  c.active > 0 ? O.some({ active: c.active - 1, accepted: c.accepted }) : O.none

export const isDrained = (c: Counter): boolean => c.active === 0
