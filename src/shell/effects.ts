/**
 * What the effect runners of both reducers (a serving process's lifecycle, a supervisor) share: an effect
 * run as a TaskEither whose failure is data (a thrown error included) and whose success is the event it
 * completes with, if any; a runtime driven by such a runner that logs a failed effect and goes on; and
 * the signals that arrived while the process was starting.
 */
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as TE from 'fp-ts/TaskEither'
import type { Log } from './log/logger'
import { messageOf } from './os/errno'
import type { Runtime } from './runtime'

export interface EffectError {
  readonly _tag: 'EffectFailed'
  readonly effect: string
  readonly message: string
}

/** How an effect is run: it fails with a message, or completes, with the event that follows it if any. */
export type RunEffect<F, V> = (effect: F) => TE.TaskEither<string, O.Option<V>>

/** An effect that completes with no event. */
export const done: TE.TaskEither<never, O.Option<never>> = TE.right(O.none)

/** A step that cannot fail but by throwing, and completes with no event. */
export const sync = (f: () => void): TE.TaskEither<string, O.Option<never>> =>
  TE.fromIO(() => {
    f()
    return O.none
  })

/** An effect that completes with `event`. */
export const then = <V>(event: V): TE.TaskEither<never, O.Option<V>> => TE.right(O.some(event))

/** A runner whose effect that throws fails like one that returns Left, naming the effect. */
export const guarded =
  <F extends { readonly _tag: string }, V>(run: RunEffect<F, V>) =>
  (effect: F): TE.TaskEither<EffectError, O.Option<V>> =>
    pipe(
      TE.tryCatch(() => run(effect)(), messageOf),
      TE.flatMap(TE.fromEither),
      TE.mapLeft((message): EffectError => ({ _tag: 'EffectFailed', effect: effect._tag, message })),
    )

/** Attaches the runner: effects run in order, and one that fails is logged (with no event) while the rest go on. */
export const drive = <S, V, F extends { readonly _tag: string }>(runtime: Runtime<S, V, F>, run: RunEffect<F, V>, log: Log): void => {
  const exec = guarded(run)
  runtime.start(async (effect) => {
    const r = await exec(effect)()
    if (E.isRight(r)) return r.right
    log.error({ event: 'effect-failed', effect: r.left.effect }, `${r.left.effect} failed: ${r.left.message}`)
    return O.none
  })
}

/** What a runtime does with an effect that threw: log it, and go on. */
export const reportEffectFailure =
  (log: Log) =>
  (effect: { readonly _tag: string }, error: unknown): void =>
    log.error({ event: 'effect-failed', effect: effect._tag }, `${effect._tag} failed: ${messageOf(error)}`)

/**
 * Signals that arrived before the pidfile named this process (see settleSignals): a restart signal then
 * was not meant for it, others are handled as they would be now (a stop still stops).
 */
export const replayQueued = (queued: readonly NodeJS.Signals[], restartSignal: NodeJS.Signals, onSignal: (s: NodeJS.Signals) => void, log: Log): void => {
  for (const signal of queued) {
    if (signal === restartSignal) log.warn({ event: 'restart-ignored', signal }, `${signal} ignored: it arrived while this process was starting`)
    else onSignal(signal)
  }
}
