/**
 * Requests waiting for their replies: the one place a reply is matched to its request. The control
 * server keeps the restarts it answers once their outcome is known; a supervisor, the status requests
 * it sent a worker on its channel; the control client, the request it sent. Each request gets a new id
 * (1, 2, ...) and is settled exactly once: by the reply that names its id, by its timeout, or when the
 * conversation closes. A reply that names no id (a peer that answers in order, or one that could not
 * read the id) answers the oldest request waiting; a reply for a request no longer waiting (late, or
 * never sent) is refused (`answer` says false).
 */
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import { after as realAfter, type After, type Timer } from './os/timer'

/** Why a request got no reply: its time ran out, or the conversation closed (`reason`, the caller's words). */
export type Unanswered<R> = { readonly _tag: 'TimedOut'; readonly afterMs: number } | { readonly _tag: 'Closed'; readonly reason: R }

export type Settled<A, R> = E.Either<Unanswered<R>, A>

export interface RequestReply<A, R> {
  /**
   * Sends a request under a new id, which `send` puts in it; `settle` is called once, with the reply or
   * why there is none (at once when the conversation is closed already). The id is returned.
   */
  readonly ask: (send: (id: number) => void, settle: (r: Settled<A, R>) => void, timeoutMs?: number) => number
  /** The same, as a promise. */
  readonly request: (send: (id: number) => void, timeoutMs?: number) => Promise<Settled<A, R>>
  /** Settles request `id` (`undefined`: the oldest waiting) with its reply; false when no such request waits. */
  readonly answer: (id: number | undefined, reply: A) => boolean
  /** The conversation is over: every request waiting, and every one asked from now on, is settled with `reason`. */
  readonly close: (reason: R) => void
  /** How many requests wait for their replies. */
  readonly waiting: () => number
}

interface Waiting<A, R> {
  readonly settle: (r: Settled<A, R>) => void
  readonly timer: O.Option<Timer>
}

export const requestReply = <A, R>(after: After = realAfter): RequestReply<A, R> => {
  const waiting = new Map<number, Waiting<A, R>>()
  let lastId = 0
  let closed: O.Option<R> = O.none

  /** Takes request `id` off the table; each is settled once. */
  const take = (id: number): O.Option<Waiting<A, R>> => {
    const w = waiting.get(id)
    if (w === undefined) return O.none
    waiting.delete(id)
    if (O.isSome(w.timer)) w.timer.value.cancel()
    return O.some(w)
  }

  const ask: RequestReply<A, R>['ask'] = (send, settle, timeoutMs) => {
    const id = ++lastId
    if (O.isSome(closed)) {
      settle(E.left({ _tag: 'Closed', reason: closed.value }))
      return id
    }
    const timer = timeoutMs === undefined ? O.none : O.some(after(timeoutMs, () => O.map((w: Waiting<A, R>) => w.settle(E.left({ _tag: 'TimedOut', afterMs: timeoutMs, reason: null })))(take(id))))
    // in the table before it is sent: a reply may come back while `send` runs
    waiting.set(id, { settle, timer })
    try {
      send(id)
    } catch (err) {
      take(id)
      throw err
    }
    return id
  }

  const oldest = (): number | undefined => {
    for (const id of waiting.keys()) return id
    return undefined
  }

  return {
    ask,
    request: (send, timeoutMs) => new Promise((resolve) => ask(send, resolve, timeoutMs)),
    answer: (id, reply) => {
      const w = take(id ?? oldest() ?? 0)
      if (O.isNone(w)) return false
      w.value.settle(E.right(reply))
      return true
    },
    close: (reason) => {
      if (O.isNone(closed)) closed = O.some(reason)
      for (const id of [...waiting.keys()]) O.map((w: Waiting<A, R>) => w.settle(E.left({ _tag: 'Closed', reason })))(take(id))
    },
    waiting: () => waiting.size,
  }
}
