/**
 * Inherited listeners: a successor or worker checks what its parent passed (the same addresses as its
 * config, each fd an open socket, the channel an open pipe) and listens on each fd.
 */
import fs = require('node:fs')
import type * as net from 'node:net'
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import * as TE from 'fp-ts/TaskEither'
import { type Binds, bindsDiff, formatBind } from '../../core/bind'
import { bindsOf, type Inherited, type InheritedListener } from '../../core/wire/inherit'
import { toErrno } from '../os/errno'
import { closeQuietly, formatAddress, type Listener, type ListenError, listenOn } from './common'
import { applySocketMode } from './unix'

const unusable =
  (fd: number) =>
  (reason: string): ListenError => ({ _tag: 'InheritedFdUnusable', fd, reason })

/** What usually stands between a parent's fds and its successor. */
const WRAPPERS =
  'the start command did not pass it on (wrappers such as `npm start` close file descriptors above 2, and the number may then be reused: make the start command run node itself, as in `exec node server.js`)'
const NOT_PASSED_ON = `it is not open: ${WRAPPERS}`

/** The fd's kind, or why it has none: it is not open. */
const statFd = (fd: number, fail: (reason: string) => ListenError): E.Either<ListenError, fs.Stats> =>
  pipe(
    E.tryCatch(() => fs.fstatSync(fd), toErrno),
    E.mapLeft((err) => fail(err.code === 'EBADF' ? NOT_PASSED_ON : err.message)),
  )

const checkSocket = (fd: number): E.Either<ListenError, void> =>
  pipe(
    statFd(fd, unusable(fd)),
    E.flatMap((st) => (st.isSocket() ? E.right(undefined) : E.left(unusable(fd)(`it is not a socket: ${WRAPPERS}`)))),
  )

/**
 * Whether the inherited fds can be what the config asks for: the same addresses as the parent's, every
 * listening fd an open socket, the channel an open pipe (a socket pair or a FIFO), never anything else a
 * ready byte would be written to.
 */
export const checkInherited = (inherited: Inherited, binds: Binds): E.Either<ListenError, void> => {
  const { added, removed } = bindsDiff(bindsOf(inherited), binds)
  if (added.length > 0 || removed.length > 0) return E.left({ _tag: 'BindChanged', added: added.map(formatBind), removed: removed.map(formatBind) })
  const failChannel = (reason: string): ListenError => ({ _tag: 'ReadyFdUnusable', fd: inherited.channelFd, reason })
  return pipe(
    RNEA.traverse(E.Applicative)((l: InheritedListener) => checkSocket(l.fd))(inherited.listeners),
    E.flatMap(() => (inherited.role === 'successor' && O.isSome(inherited.pidlockFd) ? checkSocket(inherited.pidlockFd.value) : E.right(undefined))),
    E.flatMap(() => (inherited.role === 'successor' && O.isSome(inherited.control) ? checkSocket(inherited.control.value.fd) : E.right(undefined))),
    E.flatMap(() => statFd(inherited.channelFd, failChannel)),
    E.flatMap((st) => (st.isSocket() || st.isFIFO() ? E.right(undefined) : E.left(failChannel('it is not a pipe')))),
  )
}

/** The socket at the fd is what the bind says: its family, and its port when the bind names one. */
const checkFamily = (server: net.Server, l: InheritedListener): E.Either<ListenError, void> => {
  const fail = unusable(l.fd)
  const a = server.address()
  const isTcp = a !== null && typeof a === 'object'
  const { bind } = l
  if (bind._tag === 'Tcp' && !isTcp) return E.left(fail(`it is not a TCP socket, but the bind is ${formatBind(bind)}`))
  if (bind._tag === 'Unix' && isTcp) return E.left(fail(`it is a TCP socket, but the bind is ${formatBind(bind)}`))
  if (bind._tag === 'Tcp' && isTcp && bind.port !== 0 && a.port !== bind.port) {
    return E.left(fail(`it listens on port ${a.port}, but the bind is ${formatBind(bind)}`))
  }
  return E.right(undefined)
}

/** Listens on one inherited fd; `checkInherited` has passed already. */
export const takeInherited = (server: net.Server, l: InheritedListener, mode: number): TE.TaskEither<ListenError, Listener> =>
  pipe(
    listenOn(server, { fd: l.fd }),
    TE.mapLeft((err) => unusable(l.fd)(err.message)),
    TE.flatMapEither(() => {
      const checked = pipe(
        checkFamily(server, l),
        E.flatMap(() => (l.bind._tag === 'Unix' && O.isSome(l.socketId) ? applySocketMode(l.bind, l.socketId.value, mode) : E.right(undefined))),
      )
      if (E.isLeft(checked)) closeQuietly(server)
      return checked
    }),
    TE.map((): Listener => ({ server, fd: l.fd, bind: l.bind, address: formatAddress(server, l.bind), inherited: true, socketId: l.socketId })),
  )
