/**
 * Sockets a supervisor holds for its workers: bound, never accepting (docs/ARCHITECTURE.md, "Node traps"). The first worker
 * to listen on one puts it into the listening state, and from then on the queue outlives every worker:
 * while none runs, clients wait in it instead of being refused. At a stop the supervisor closes its
 * copies, and the sockets close with the last worker's listeners. UNIX paths get the same care as a
 * serving process's (stale probe, atomic publish, removal only while still ours).
 */
import fs = require('node:fs')
import net = require('node:net')
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import * as T from 'fp-ts/Task'
import * as TE from 'fp-ts/TaskEither'
import { type Bind, type Binds, formatBind, type Tcp, type Unix } from '../../core/bind'
import type { InheritedListener, SocketId } from '../../core/wire/inherit'
import { toErrno } from '../os/errno'
import { type BoundHandle, bindPipe, bindTcpHandle } from '../os/handles'
import { allOrNothing, fromErrno, type ListenError } from './common'
import { bindUnixAt, removeOwnSocketFile } from './unix'
import { loadDns } from '../os/lazy'

export interface BoundSocket {
  readonly bind: Bind
  readonly fd: number
  /** The address it is bound to, with the real port when the config asked for port 0. */
  readonly address: string
  /** The UNIX socket file this server created. */
  readonly socketId: O.Option<SocketId>
  /** Closes this process's fd; a second call does nothing (the fd number may be another file's by then). */
  readonly close: () => void
}

const once = (f: () => void): (() => void) => {
  let done = false
  return () => {
    if (done) return
    done = true
    f()
  }
}

export type BoundSockets = RNEA.ReadonlyNonEmptyArray<BoundSocket>

/** A host name becomes an address first (binding takes an address, as `listen` does for you). */
const resolve = (bind: Tcp): TE.TaskEither<ListenError, string> =>
  net.isIP(bind.host) !== 0
    ? TE.right(bind.host)
    : pipe(
        TE.tryCatch(() => loadDns().lookup(bind.host), toErrno),
        TE.bimap(fromErrno(bind), (a) => a.address),
      )

const bindTcp = (bind: Tcp): TE.TaskEither<ListenError, BoundSocket> =>
  pipe(
    resolve(bind),
    TE.flatMapEither((ip) => E.mapLeft(fromErrno(bind))(bindTcpHandle(ip, bind.port))),
    // a port in use leaves the socket unbound (libuv says so only at listen, which this process never calls)
    TE.flatMapEither((h) =>
      pipe(
        h.tcpAddress(),
        E.bimap(
          (err) => {
            h.close()
            return fromErrno(bind)(err)
          },
          (a): BoundSocket => ({ bind, fd: h.fd, address: formatBind({ _tag: 'Tcp', host: a.address, port: a.port }), socketId: O.none, close: once(h.close) }),
        ),
      ),
    ),
  )

const bindUnix = (bind: Unix, mode: number, onStale: () => void): TE.TaskEither<ListenError, BoundSocket> => {
  let handle: BoundHandle | undefined
  const at = (temp: string): TE.TaskEither<NodeJS.ErrnoException, void> =>
    TE.fromEither(
      E.map((h: BoundHandle) => {
        handle = h
      })(bindPipe(temp)),
    )
  const undo = (): void => handle?.close()
  return pipe(
    bindUnixAt(bind, mode, onStale, at, undo),
    TE.flatMapEither(({ socketId }) =>
      handle === undefined
        ? E.left<ListenError, BoundSocket>({ _tag: 'ListenFailed', address: formatBind(bind), message: 'the socket was not bound' })
        : E.right({ bind, fd: handle.fd, address: formatBind(bind), socketId: O.some(socketId), close: once(handle.close) }),
    ),
  )
}

/** Gives a bound socket back: its socket file goes if it is ours, then it is closed. */
export const releaseBound = (s: BoundSocket): T.Task<void> =>
  pipe(
    removeOwnSocketFile(s),
    T.map(() => s.close()),
  )

export interface BindOptions {
  readonly socketMode: number
  readonly onStale: (bind: Bind) => void
}

/** Binds every address without listening; if one fails, those already bound are given back. */
export const bindAllUnaccepted = (binds: Binds, o: BindOptions): TE.TaskEither<ListenError, BoundSockets> => {
  const one = (bind: Bind): TE.TaskEither<ListenError, BoundSocket> => (bind._tag === 'Tcp' ? bindTcp(bind) : bindUnix(bind, o.socketMode, () => o.onStale(bind)))
  return allOrNothing(binds, one, releaseBound)
}

/** systemd's sockets (already listening), held as they are; closing one only closes this process's fd. */
export const adoptBound = (adopted: RNEA.ReadonlyNonEmptyArray<InheritedListener>): BoundSockets =>
  RNEA.map((l: InheritedListener): BoundSocket => ({ bind: l.bind, fd: l.fd, address: formatBind(l.bind), socketId: O.none, close: once(() => fs.closeSync(l.fd)) }))(adopted)
