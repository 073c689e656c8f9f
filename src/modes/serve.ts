/**
 * serve: the composition every entry point shares. Prepare (config, inheritance, log), then run the mode
 * this process is in. A process serves one config: a second call is refused at once.
 */
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as TE from 'fp-ts/TaskEither'
import { checkNodeVersion, type UnsupportedNode } from '../core/nodeVersion'
import { describeServeError, type ServeError } from '../errors'
import type { ConfigInput } from '../shell/configSource'
import { parentChannelFd } from '../shell/os/boot'
import { reportFailed } from '../shell/os/channel'
import { builtinLoaded } from '../shell/os/handles'
import { loadCluster } from '../shell/os/lazy'
import * as signals from '../shell/os/signals'
import { type ServeOptions, setServerInfo } from './options'
import { OWN_SIGNALS, type Prepared, prepare, type Stopped } from './prepare'
import * as O from 'fp-ts/Option'
import { standalone } from './standalone'
import { supervisor, workerCount } from './supervisor'
import { worker } from './worker'
import type { MakeProtocol } from './serving/run'

export type { MakeProtocol } from './serving/run'

/** Why this process cannot serve at all: a second serve call, a node:cluster worker, a mode changed by a restart. */
/** `ModeChanged`: a restart's config adds `workers` to a server that runs without (`added`), or drops it from a supervised one. */
export type ProcessRefused = { readonly _tag: 'AlreadyServing' } | { readonly _tag: 'ClusterWorker' } | { readonly _tag: 'ModeChanged'; readonly added: boolean }

export const describeProcessRefused = (e: ProcessRefused): string => {
  switch (e._tag) {
    case 'AlreadyServing':
      return 'serve was called a second time in this process: a process serves one config (the first call goes on serving); give one config several addresses in `bind` instead'
    case 'ClusterWorker':
      return 'serve was called in a node:cluster worker, whose listening sockets belong to the cluster primary and cannot be handed over: run the server without node:cluster, and set `workers` in the config to serve from several processes'
    case 'ModeChanged':
      return e.added
        ? '`workers` was set in the config of a server that runs without it: a restart keeps the mode (a supervisor cannot take over from a serving process); stop the server and start it again to supervise workers'
        : '`workers` was removed from the config of a supervised server: a restart keeps the mode (a worker cannot become a server that restarts itself); stop the server and start it again to run without workers'
  }
}

/**
 * A process a server started (a successor, a worker) says why it cannot serve on its channel, whatever
 * failed: the config (unreadable, not JSON, invalid, a changed mode), the sockets, the pidfile. Its
 * parent puts the reason in its `successor-failed` / `generation-failed` line and in the restart's answer.
 */
const tellParentWhy = (e: ServeError): void => {
  if (O.isSome(parentChannelFd)) reportFailed(parentChannelFd.value, describeServeError(e))
}

let serving = false

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
  if (serving) return E.left({ _tag: 'AlreadyServing' })
  serving = true
  return E.right(undefined)
})

const unclaim: TE.TaskEither<never, undefined> = TE.fromIO(() => {
  serving = false
  return undefined
})

/**
 * The mode this process is in: a worker when a supervisor started it; a supervisor when the config sets
 * `workers` and nobody started it; otherwise standalone (first, or a successor).
 */
const inMode = (p: Prepared, makeProtocol: MakeProtocol): TE.TaskEither<ServeError, Stopped> => {
  if (O.isSome(p.inherited)) {
    if (p.inherited.value.role === 'worker') return O.isSome(p.config.workers) ? worker(p, p.inherited.value, makeProtocol) : TE.left({ _tag: 'ModeChanged', added: false })
    if (O.isSome(p.config.workers)) return TE.left({ _tag: 'ModeChanged', added: true })
    return standalone(p, makeProtocol)
  }
  return O.isSome(p.config.workers) ? supervisor(p, workerCount(p.config.workers.value)) : standalone(p, makeProtocol)
}

/** Serves with a given protocol; the TaskEither completes when this process has stopped. */
export const serveProtocol = (input: ConfigInput, makeProtocol: MakeProtocol, options: ServeOptions, exits: boolean): TE.TaskEither<ServeError, Stopped> =>
  pipe(
    TE.Do,
    TE.flatMap((): TE.TaskEither<ServeError, void> => claim),
    TE.flatMap(() =>
      pipe(
        prepare(input, options, exits),
        TE.flatMap((p) =>
          pipe(
            inMode(p, makeProtocol),
            TE.tapError((e) =>
              TE.fromIO(() => {
                p.log.fatal({ event: 'startup-failed', error: e._tag }, describeServeError(e))
                signals.unlisten(OWN_SIGNALS)
              }),
            ),
          ),
        ),
        TE.tapError((e) => TE.fromIO(() => tellParentWhy(e))),
        // once this server has stopped (or could not start), the process may serve again
        TE.tap(() => unclaim),
        TE.tapError(() => unclaim),
        TE.tap(() => TE.fromIO(() => setServerInfo(undefined))),
      ),
    ),
  )
