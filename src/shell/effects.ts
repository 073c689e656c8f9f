/**
 * What the interpreters of both reducers (a serving process's lifecycle, a supervisor) share: an effect
 * run as a TaskEither whose failure is data (a thrown error included), a runtime driven by such an
 * interpreter that logs a failed effect and goes on, and the signals that arrived while the process was
 * starting.
 */
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as TE from 'fp-ts/TaskEither'
import type { Log } from './log/logger'
import { messageOf } from './os/errno'
import type { Runtime } from './runtime'

export interface EffectError {
  readonly _tag: 'EffectFailed'
  readonly effect: string
  readonly message: string
}

/** A step that cannot fail but by throwing. */
export const sync = (f: () => void): TE.TaskEither<string, void> => TE.fromIO(f)

/** An interpreter from a step over capabilities: a step that throws fails like one that returns Left. */
export const interpreter =
  <C, F extends { readonly _tag: string }>(step: (caps: C, effect: F) => TE.TaskEither<string, void>) =>
  (caps: C) =>
  (effect: F): TE.TaskEither<EffectError, void> =>
    pipe(
      TE.tryCatch(() => step(caps, effect)(), messageOf),
      TE.flatMap(TE.fromEither),
      TE.mapLeft((message): EffectError => ({ _tag: 'EffectFailed', effect: effect._tag, message })),
    )

/** Attaches the interpreter: effects run in order, and one that fails is logged while the rest go on. */
export const drive = <S, V, F>(runtime: Runtime<S, V, F>, exec: (effect: F) => TE.TaskEither<EffectError, void>, log: Log): void =>
  runtime.start(async (effect) => {
    const r = await exec(effect)()
    if (E.isLeft(r)) log.error({ event: 'effect-failed', effect: r.left.effect }, `${r.left.effect} failed: ${r.left.message}`)
  })

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
