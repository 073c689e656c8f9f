/**
 * A warning that may come in floods (failed TLS handshakes from scanners, clients from a network that is
 * not allowed): every occurrence is logged at debug, and a warning at most once a minute, saying how
 * many there were since the last one. The minute is measured on a monotonic clock: a wall clock stepped
 * back would otherwise silence the warning until it caught up.
 */
import { type Clock, monotonicMs } from '../os/clock'
import type { Log } from './logger'

const WARN_EVERY_MS = 60_000

export const rateLimited = (log: Log, event: string, clock: Clock = monotonicMs): ((fields: Readonly<Record<string, unknown>>, message: string) => void) => {
  let last = -Infinity
  let since = 0
  return (fields, message) => {
    since += 1
    log.debug({ event, ...fields }, message)
    const now = clock()
    if (now - last < WARN_EVERY_MS) return
    log.warn({ event, ...fields, count: since }, since > 1 ? `${message} (${since} such since the last warning)` : message)
    last = now
    since = 0
  }
}
