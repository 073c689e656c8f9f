/**
 * Handler: runs the user's connection handler, whatever its style (plain, async, Either, TaskEither),
 * and turns every way it can fail into a tagged failure: a throw, a rejection, or a Left. It runs for
 * every connection, so a promise result costs one `then` and nothing more.
 */
import type { Socket } from 'node:net'
import * as E from 'fp-ts/Either'
import type * as TE from 'fp-ts/TaskEither'
import type { Logger } from 'pino'

/** What a {@link Handler} gets with each socket besides the socket itself. */
export interface ConnectionContext {
  /** This process's sequence number for the connection, as it appears in logs. */
  readonly id: number
  /** This process's generation: 1 for the process started by hand, one more for each restart. */
  readonly generation: number
  /** The address of the listener the connection came in on, as the `listening` line names it. */
  readonly listener: string | undefined
  /** A pino logger carrying the connection id (pino is loaded on first use). */
  readonly log: Logger
}

/** What a handler may return: nothing, a promise, an Either, or a TaskEither (a Left is a failure). */
// eslint-disable-next-line @typescript-eslint/no-invalid-void-type -- a handler may return nothing
export type HandlerResult<E> = void | PromiseLike<unknown> | E.Either<E, unknown> | TE.TaskEither<E, unknown>

/**
 * A connection handler. The socket is ended when what it returns settles, so return a promise that
 * settles when you are done with the socket: a handler that only attaches listeners and returns nothing
 * has its socket ended at once. With `tls` in the config the socket is a `tls.TLSSocket`, its handshake
 * done (`getPeerCertificate()` gives a client's certificate).
 */
export type Handler<E = unknown> = (socket: Socket, context: ConnectionContext) => HandlerResult<E>

/**
 * How a handler failed: it threw, its promise (or TaskEither) rejected, or it returned a `Left`. The
 * library logs it (`handler-failed`) and ends the socket; the server serves on.
 *
 * @typeParam E - the handler's own error type, the `Left` it may return
 */
export type HandlerFailure<E> =
  /** It threw, synchronously. */
  | { readonly _tag: 'Threw'; readonly error: unknown }
  /** The promise it returned rejected (or the TaskEither threw or rejected). */
  | { readonly _tag: 'Rejected'; readonly error: unknown }
  /** It returned, or its TaskEither completed with, a `Left`. */
  | { readonly _tag: 'ReturnedLeft'; readonly error: E }

const isThenable = (u: unknown): u is PromiseLike<unknown> =>
  (typeof u === 'object' || typeof u === 'function') && u !== null && typeof (u as { then?: unknown }).then === 'function'

const isLeft = (u: unknown): u is E.Left<unknown> =>
  typeof u === 'object' && u !== null && (u as { _tag?: unknown })._tag === 'Left' && 'left' in u

const OK: E.Either<never, void> = E.right(undefined)

const settled = <Err>(value: unknown): E.Either<HandlerFailure<Err>, void> =>
  isLeft(value) ? E.left({ _tag: 'ReturnedLeft', error: value.left as Err }) : OK

const rejected = <Err>(error: unknown): E.Either<HandlerFailure<Err>, void> => E.left({ _tag: 'Rejected', error })

export const runHandler =
  <Err>(handler: Handler<Err>, socket: Socket, context: ConnectionContext): TE.TaskEither<HandlerFailure<Err>, void> =>
  () => {
    let result: unknown
    try {
      result = handler(socket, context)
    } catch (error) {
      return Promise.resolve(E.left({ _tag: 'Threw', error }))
    }
    if (typeof result === 'function') {
      // a TaskEither: run it, and count a throw or a rejection inside it as a rejection
      const task = result as () => unknown
      return new Promise<unknown>((resolve) => resolve(task())).then(settled<Err>, rejected<Err>)
    }
    return isThenable(result) ? Promise.resolve(result).then(settled<Err>, rejected<Err>) : Promise.resolve(settled<Err>(result))
  }
