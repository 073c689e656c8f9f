/**
 * Listener acquisition: bind a fresh listener for every address of the config, or take over the ones a
 * parent passed down. A start that fails part-way gives back what it had acquired.
 */
import type * as net from 'node:net'
import { pipe } from 'fp-ts/function'
import type * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import * as T from 'fp-ts/Task'
import * as TE from 'fp-ts/TaskEither'
import type { Bind } from '../../core/bind'
import type { Inherited, InheritedListener } from '../../core/wire/inherit'
import { allOrNothing, type Listener, type ListenError } from './common'
import { takeInherited } from './inherited'
import { bindTcp } from './tcp'
import { bindUnix, removeOwnSocketFile } from './unix'

export { checkInherited, takeInherited } from './inherited'
export { describeListenError, type Listener, type ListenError } from './common'
export { removeOwnSocketFile, type SocketFileOutcome } from './unix'

export type Listeners = RNEA.ReadonlyNonEmptyArray<Listener>

export interface AcquireOptions {
  readonly socketMode: number
  /** Called when a stale UNIX socket file (nobody answering) is about to be replaced. */
  readonly onStale: (bind: Bind) => void
}

/** Undoes an acquired listener: its socket file goes only if it is ours, then it is closed. */
export const release = (listener: Listener): T.Task<void> =>
  pipe(
    removeOwnSocketFile(listener),
    T.map(() => {
      if (listener.server.listening) listener.server.close()
    }),
  )

/** A new server, its 'connection' listener attached, to listen on one address. */
export type MakeServer = () => net.Server

/** Binds every address, each on a server of its own. */
export const bindAll = (makeServer: MakeServer, binds: RNEA.ReadonlyNonEmptyArray<Bind>, o: AcquireOptions): TE.TaskEither<ListenError, Listeners> =>
  allOrNothing(binds, (bind): TE.TaskEither<ListenError, Listener> => (bind._tag === 'Tcp' ? bindTcp(makeServer(), bind) : bindUnix(makeServer(), bind, o.socketMode, () => o.onStale(bind))), release)

/** Listens on each adopted socket (systemd's), each on a server of its own. */
export const adoptAll = (makeServer: MakeServer, adopted: RNEA.ReadonlyNonEmptyArray<InheritedListener>, socketMode: number): TE.TaskEither<ListenError, Listeners> =>
  allOrNothing(adopted, (l) => takeInherited(makeServer(), l, socketMode), release)

/** Listens on every inherited fd, each on a server of its own; `checkInherited` has passed already. */
export const takeAll = (makeServer: MakeServer, inherited: Inherited, socketMode: number): TE.TaskEither<ListenError, Listeners> =>
  adoptAll(makeServer, inherited.listeners, socketMode)
