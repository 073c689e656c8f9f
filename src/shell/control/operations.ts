/**
 * What a program (or the `uninterruptible` command) can ask a running server: restart and wait for the
 * outcome, status, stop and wait until every process has exited. Each is a TaskEither; the public API
 * also gives Promise forms. The server is named by its JSON config file (its `controlPath`), or by the
 * control socket's path.
 */
import fs = require('node:fs')
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as TE from 'fp-ts/TaskEither'
import { fieldOf } from '../../core/codec'
import { encodeReply, type Op, type OutcomeJson, type Reply, type Status } from '../../core/wire/control'
import { readConfigSource } from '../configSource'
import { ask, type ControlError } from './client'
import { monotonicMs } from '../os/clock'

/** A config file's path (its `controlPath` is used), or the control socket itself. */
export type ControlTarget = string | { readonly controlPath: string }

/** Options of the control functions (`restartServer`, `serverStatus`, `stopServer` and their Task forms). */
export interface ControlOptions {
  /** How long to wait: for a restart's outcome (default 10 minutes), a status or a stop's reply (5 s); a stop then waits for the exits without limit unless set. */
  readonly timeoutMs?: number
}

const controlPathOf = (target: ControlTarget): TE.TaskEither<ControlError, string> =>
  typeof target !== 'string'
    ? TE.right(target.controlPath)
    : pipe(
        readConfigSource(target),
        TE.mapLeft((e): ControlError => ({ _tag: 'NoControlPath', config: target, reason: e.reason })),
        TE.flatMapEither((json) => {
          const p = fieldOf(json, 'controlPath')
          return typeof p === 'string' && p.startsWith('/')
            ? E.right(p)
            : E.left<ControlError>({ _tag: 'NoControlPath', config: target, reason: 'it sets no controlPath (an absolute path); set one, and restart the server so it listens there' })
        }),
      )

const request = (target: ControlTarget, op: Op, timeoutMs: number) =>
  pipe(
    controlPathOf(target),
    TE.flatMap((path) =>
      pipe(
        ask(path, op, timeoutMs),
        TE.map((c) => ({ ...c, path })),
      ),
    ),
  )

/** A reply that is not the one the request calls for: the server's error (another restart in progress, a bad request), or a bad reply. */
const unexpected = (path: string, reply: Reply): ControlError =>
  reply._tag === 'Error' ? { _tag: 'NoReply', path, reason: reply.message } : { _tag: 'BadReply', path, line: encodeReply(reply).trimEnd() }

/**
 * Restarts the server and waits for the outcome: the new generation serves, or it failed and the old one serves on.
 *
 * @param target - the config file's path (its `controlPath` is used), or `{ controlPath }`
 * @param options - how long to wait for the outcome (10 minutes by default)
 */
export const restartServerTask = (target: ControlTarget, options: ControlOptions = {}): TE.TaskEither<ControlError, OutcomeJson> =>
  pipe(
    request(target, 'restart', options.timeoutMs ?? 600_000),
    TE.flatMapEither(({ reply, path }) => (reply._tag === 'Outcome' ? E.right(reply.outcome) : E.left(unexpected(path, reply)))),
  )

/**
 * Asks the server for its status.
 *
 * @param target - the config file's path (its `controlPath` is used), or `{ controlPath }`
 * @param options - how long to wait for the reply (5 s by default)
 */
export const serverStatusTask = (target: ControlTarget, options: ControlOptions = {}): TE.TaskEither<ControlError, Status> =>
  pipe(
    request(target, 'status', options.timeoutMs ?? 5_000),
    TE.flatMapEither(({ reply, path }) => (reply._tag === 'Status' ? E.right(reply.status) : E.left(unexpected(path, reply)))),
  )

/** A process is gone once /proc has no entry for it or it is a zombie (its parent reaps it); elsewhere, once kill(0) fails. */
const isGone = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    if (process.platform === 'linux') return true
    try {
      process.kill(pid, 0)
      return false
    } catch {
      return true
    }
  }
}

const allGone = (pids: readonly number[], deadline: number): TE.TaskEither<ControlError, void> => async () => {
  for (;;) {
    const left = pids.filter((p) => !isGone(p))
    if (left.length === 0) return E.right(undefined)
    if (monotonicMs() > deadline) return E.left({ _tag: 'NoReply', path: '', reason: `still running after the timeout: pid ${left.join(', ')}` })
    await new Promise((r) => setTimeout(r, 50)) // other processes' exits give no event to wait on
  }
}

/**
 * Stops the server (it drains), and settles once every one of its processes has exited.
 *
 * @param target - the config file's path (its `controlPath` is used), or `{ controlPath }`
 * @param options - how long to wait for the reply (5 s by default), then for the exits (no limit by default)
 */
export const stopServerTask = (target: ControlTarget, options: ControlOptions = {}): TE.TaskEither<ControlError, { readonly pids: readonly number[] }> =>
  pipe(
    request(target, 'stop', options.timeoutMs ?? 5_000),
    TE.flatMapEither(({ reply, path, closed }) => (reply._tag === 'Stopping' ? E.right({ pids: reply.pids, closed }) : E.left(unexpected(path, reply)))),
    TE.tap(({ closed }) => TE.fromTask(() => closed)),
    TE.tap(({ pids }) => allGone(pids, options.timeoutMs !== undefined ? monotonicMs() + options.timeoutMs : Infinity)),
    TE.map(({ pids }) => ({ pids })),
  )
