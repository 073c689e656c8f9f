/**
 * Control from a program: restart a running server and wait for the outcome, read its status, stop it
 * and wait until every process has exited (what the `uninterruptible` command does), as TaskEithers and
 * as Promises. The server is named by its JSON config file (its `controlPath`) or by the socket's path.
 */
import * as E from 'fp-ts/Either'
import type * as TE from 'fp-ts/TaskEither'
import type { OutcomeJson, Status } from './core/wire/control'
import { type ControlError, describeControlError } from './shell/control/client'
import { type ControlOptions, type ControlTarget, restartServerTask, serverStatusTask, stopServerTask } from './shell/control/operations'

// the wire types under the names the API gives them (their docs are at their declarations)
export type { ConnectionCounts, OutcomeJson as RestartResult, Status as ServerStatus, WorkerStatus } from './core/wire/control'
export { type ControlError, describeControlError } from './shell/control/client'
export { type ControlOptions, type ControlTarget, restartServerTask, serverStatusTask, stopServerTask } from './shell/control/operations'

const promise = <A>(task: TE.TaskEither<ControlError, A>): Promise<A> =>
  task().then((r) => (E.isRight(r) ? r.right : Promise.reject(new Error(describeControlError(r.left)))))

/**
 * Restarts the server and waits for the outcome: resolves with it (`restarted`, or `failed` or
 * `refused` with the reason) once the new generation serves and the old one accepts no more, or once
 * the restart failed and the old generation serves on. Rejects (an `Error` whose message is
 * {@link describeControlError}'s) when no usable reply comes.
 *
 * @param target - the config file's path (its `controlPath` is used), or `{ controlPath }`
 * @param options - how long to wait for the outcome (10 minutes by default)
 *
 * @example
 * ```ts
 * import { restartServer } from 'uninterruptible'
 *
 * const result = await restartServer('/etc/app/config.json') // the config names the controlPath
 * if (result.result !== 'restarted') throw new Error(`restart ${result.result}: ${result.reason}`)
 * ```
 */
export const restartServer = (target: ControlTarget, options?: ControlOptions): Promise<OutcomeJson> => promise(restartServerTask(target, options))

/**
 * Asks the server for its status (see {@link ServerStatus}); rejects when no usable reply comes.
 *
 * @param target - the config file's path (its `controlPath` is used), or `{ controlPath }`
 * @param options - how long to wait for the reply (5 s by default)
 */
export const serverStatus = (target: ControlTarget, options?: ControlOptions): Promise<Status> => promise(serverStatusTask(target, options))

/**
 * Stops the server (it drains); resolves with its pids once every one of its processes has exited. Rejects when no usable reply comes (a stop during a restart is refused).
 *
 * @param target - the config file's path (its `controlPath` is used), or `{ controlPath }`
 * @param options - how long to wait for the reply (5 s by default), then for the exits (no limit by default)
 */
export const stopServer = (target: ControlTarget, options?: ControlOptions): Promise<{ readonly pids: readonly number[] }> => promise(stopServerTask(target, options))
