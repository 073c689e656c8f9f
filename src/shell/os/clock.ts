/**
 * Time for durations: a monotonic clock (`performance.now`, CLOCK_MONOTONIC underneath), which a step
 * of the wall clock (NTP at boot, an operator's `date -s`, a VM resumed) does not move. `Date.now` is for
 * timestamps only: an interval measured with it goes negative when the clock is stepped back.
 */

/** Milliseconds from an arbitrary origin; only differences mean anything. */
export type Clock = () => number

export const monotonicMs: Clock = () => performance.now()

/** Whole milliseconds since this was called, read from `clock`. */
export const stopwatch = (clock: Clock = monotonicMs): (() => number) => {
  const start = clock()
  return () => Math.floor(clock() - start)
}
