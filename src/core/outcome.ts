/**
 * The outcome of a restart, as a value: logged, and sent to whoever asked for the restart (a control
 * request). Shared by the standalone lifecycle and the supervisor. Pure.
 */
import { type ChildFailure, describeFailure, type Fields } from './failure'
import type { RestartSignal } from './signal'

/** Who asked for a restart: a signal, or a control request (numbered `id`: it is answered with the outcome). */
export type RestartBy = { readonly _tag: 'Signal'; readonly signal: RestartSignal } | { readonly _tag: 'Request'; readonly id: number }

/**
 * How a restart ended, as the reducers record it (`lastRestart`) and answer it ({@link AnswerEffect});
 * a control client gets it as JSON (`RestartResult` in `uninterruptible`).
 */
export type RestartOutcome =
  /** The new generation serves: its processes' pids. */
  | { readonly _tag: 'Restarted'; readonly generation: number; readonly pids: readonly number[] }
  /**
   * The new generation did not come up: the old one serves on; or, when `stopping`, the server is
   * stopping (a stop came first), and no child failed.
   */
  | { readonly _tag: 'RestartFailed'; readonly generation: number; readonly reason: string; readonly failure: ChildFailure | null; readonly stopping: boolean }
  /** No restart was started, and why. */
  | { readonly _tag: 'RestartRefused'; readonly reason: string }

/** The failure of one process of a new generation, in words: "worker 1 exited with code 3 before it was ready". */
export const failedBecause = (who: string, failure: ChildFailure): string => `${who} ${describeFailure(failure)}`

export const requestIds = (by: readonly RestartBy[]): readonly number[] => by.flatMap((b) => (b._tag === 'Request' ? [b.id] : []))

// ---- effects both reducers share (the standalone lifecycle's and the supervisor's) ---------------------

/** The level of a {@link LogEffect}. */
export type LogLevel = 'debug' | 'info' | 'warn' | 'error'

/**
 * Write a log line: `event` is its name (the `event` field of the README's log-events table:
 * `restart-requested`, `successor-failed`, ...), `message` its text (`msg`), `fields` its other fields.
 */
export type LogEffect = { readonly _tag: 'Log'; readonly level: LogLevel; readonly event: string; readonly message: string; readonly fields: Fields }
/**
 * A restart ended: its outcome goes to the control requests that asked for it (`requests`, their ids;
 * empty when a signal asked), and a status reports it from then on.
 */
export type AnswerEffect = { readonly _tag: 'Answer'; readonly requests: readonly number[]; readonly outcome: RestartOutcome }

export const log = (level: LogLevel, event: string, message: string, fields: Fields = {}): LogEffect => ({ _tag: 'Log', level, event, message, fields })

/** How a restart request is named in a log line. */
export const asker = (by: RestartBy): string => (by._tag === 'Signal' ? `${by.signal} received` : `control request ${by.id}`)
export const askerFields = (by: RestartBy): Fields => (by._tag === 'Signal' ? { signal: by.signal } : { request: by.id })

/** A restart request that cannot be acted on: logged, and a control request gets the reason. */
export const refuse = (by: RestartBy, reason: string, fields: Fields = {}): readonly (LogEffect | AnswerEffect)[] => [
  log('warn', 'restart-ignored', `${by._tag === 'Signal' ? by.signal : `control request ${by.id}`} ignored: ${reason}`, { ...askerFields(by), ...fields }),
  ...(by._tag === 'Request' ? [{ _tag: 'Answer' as const, requests: [by.id], outcome: { _tag: 'RestartRefused' as const, reason } }] : []),
]
