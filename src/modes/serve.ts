/**
 * serve: the composition every entry point shares. Prepare (config, inheritance, log), then run the mode
 * this process is in. A process serves one config: a second call is refused at once.
 */
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as TE from 'fp-ts/TaskEither'
import { checkNodeVersion, type UnsupportedNode } from '../core/nodeVersion'
import { describeServeError, type ProcessRefused, type ServeError } from './errors'
import { type ConfigInput, type ConfigSourceError, readConfigSource } from '../shell/configSource'
import { parentChannelFd } from '../shell/os/boot'
import { reportFailed } from '../shell/os/channel'
import { builtinLoaded } from '../shell/os/handles'
import { loadCluster } from '../shell/os/lazy'
import * as signals from '../shell/os/signals'
import type { ServeOptions } from '../shell/options'
import * as current from './current'
import { type Prepared, prepare, type Stopped } from './prepare'
import * as O from 'fp-ts/Option'
import { standalone } from './standalone'
import { supervisor, workerCount } from './supervisor'
import { worker } from './worker'
import type { MakeProtocol } from './lifecycle/run'

export type { MakeProtocol } from './lifecycle/run'

/** Why this process cannot serve at all: a second serve call, a node:cluster worker, a mode changed by a restart. */
/**
 * A process a server started (a successor, a worker) says why it cannot serve on its channel, whatever
 * failed: the config (unreadable, not JSON, invalid, a changed mode), the sockets, the pidfile. Its
 * parent puts the reason in its `successor-failed` / `generation-failed` line and in the restart's answer.
 */
const tellParentWhy = (e: ServeError): void => {
  if (O.isSome(parentChannelFd)) reportFailed(parentChannelFd.value, describeServeError(e))
}

/**
 * A node:cluster worker: Node loads its cluster module while starting one, so in any other process that
 * has not loaded it (about 20 ms) the answer is no without loading it.
 */
const isClusterWorker = (): boolean => {
  const loaded = builtinLoaded('cluster') ?? true
  return loaded && loadCluster().isWorker
}

/** Refuses a second server in this process, and node:cluster workers. */
const claim: TE.TaskEither<ProcessRefused | UnsupportedNode, void> = TE.fromIOEither(() => {
  const unsupported = checkNodeVersion(process.version)
  if (unsupported !== undefined) return E.left(unsupported)
  if (isClusterWorker()) return E.left({ _tag: 'ClusterWorker' })
  return current.take() ? E.right(undefined) : E.left({ _tag: 'AlreadyServing' })
})

const unclaim: TE.TaskEither<never, undefined> = TE.fromIO(() => {
  current.release()
  return undefined
})

/**
 * The mode this process is in: a worker when a supervisor started it; a supervisor when the config sets
 * `workers` and nobody started it; otherwise standalone (first, or a successor).
 */
const inMode = (p: Prepared, makeProtocol: MakeProtocol): TE.TaskEither<ServeError, Stopped> => {
  if (O.isSome(p.inherited)) {
    const inherited = p.inherited.value
    if (inherited.role === 'worker') return O.isSome(p.config.workers) ? worker(p, inherited, makeProtocol) : TE.left({ _tag: 'ModeChanged', added: false })
    if (O.isSome(p.config.workers)) return TE.left({ _tag: 'ModeChanged', added: true })
    return standalone(p, O.some(inherited), makeProtocol)
  }
  return O.isSome(p.config.workers) ? supervisor(p, workerCount(p.config.workers.value)) : standalone(p, O.none, makeProtocol)
}

/** Serves with a given protocol; the TaskEither completes when this process has stopped. */
export const serveProtocol = (input: ConfigInput, makeProtocol: MakeProtocol, options: ServeOptions, exits: boolean): TE.TaskEither<ServeError, Stopped> =>
  serveIn(readConfigSource(input), options, exits, (p) => inMode(p, makeProtocol))

/**
 * What every entry point does (`serve`, `serveHttp`, an unchanged app's worker, `uninterruptible run`):
 * take the process, prepare, run `mode`, and whatever fails, log it and tell the parent why.
 */
export const serveIn = (source: TE.TaskEither<ConfigSourceError, unknown>, options: ServeOptions, exits: boolean, mode: (p: Prepared) => TE.TaskEither<ServeError, Stopped>): TE.TaskEither<ServeError, Stopped> =>
  pipe(
    TE.Do,
    TE.flatMap((): TE.TaskEither<ServeError, void> => claim),
    TE.flatMap(() =>
      pipe(
        prepare(source, options, exits),
        TE.flatMap((p) =>
          pipe(
            mode(p),
            TE.tapError((e) =>
              TE.fromIO(() => {
                p.log.fatal({ event: 'startup-failed', error: e._tag }, describeServeError(e))
                signals.unlistenOwn()
              }),
            ),
          ),
        ),
        TE.tapError((e) => TE.fromIO(() => tellParentWhy(e))),
        // once this server has stopped (or could not start), the process may serve again
        TE.tap(() => unclaim),
        TE.tapError(() => unclaim),
      ),
    ),
  )
