/**
 * Listener acquisition: bind a fresh TCP or UNIX listener, or take over the one a parent passed down.
 * Owns the UNIX socket file's life: the stale-file probe, the atomic bind (a temporary name renamed
 * onto the path, so closing never unlinks the path), and removal only while the file is still ours.
 */
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as T from 'fp-ts/Task'
import * as TE from 'fp-ts/TaskEither'
import { type Bind, formatBind, sameBind } from '../../core/bind'
import type { Inherited, SocketId } from '../../core/inherit'
import { type Errno, toErrno } from '../os/errno'
import { listenFd } from '../os/fd'

export interface Listener {
  readonly server: net.Server
  readonly fd: number
  readonly bind: Bind
  /** The address actually bound, e.g. the real port when the config asked for port 0. */
  readonly address: string
  readonly inherited: boolean
  /** Device and inode of the UNIX socket file, to recognise it as ours at the final stop. */
  readonly socketId: O.Option<SocketId>
}

export type ListenError =
  | { readonly _tag: 'AddressInUse'; readonly address: string; readonly detail: string }
  | { readonly _tag: 'PermissionDenied'; readonly address: string; readonly detail: string }
  | { readonly _tag: 'AddressNotAvailable'; readonly address: string }
  | { readonly _tag: 'FolderMissing'; readonly address: string; readonly folder: string }
  | { readonly _tag: 'NotASocket'; readonly address: string }
  | { readonly _tag: 'InheritedFdUnusable'; readonly fd: number; readonly reason: string }
  | { readonly _tag: 'ReadyFdUnusable'; readonly fd: number; readonly reason: string }
  | { readonly _tag: 'BindChanged'; readonly inherited: string; readonly configured: string }
  | { readonly _tag: 'ListenFailed'; readonly address: string; readonly message: string }

export const describeListenError = (e: ListenError): string => {
  switch (e._tag) {
    case 'AddressInUse':
      return `address in use: cannot listen on ${e.address}: ${e.detail}; stop that server or choose another address`
    case 'PermissionDenied':
      return `permission denied: cannot listen on ${e.address}: ${e.detail}`
    case 'AddressNotAvailable':
      return `cannot listen on ${e.address}: that address does not belong to this machine; use 0.0.0.0, 127.0.0.1 or one of its addresses`
    case 'FolderMissing':
      return `cannot listen on ${e.address}: the folder ${e.folder} does not exist; create it first`
    case 'NotASocket':
      return `cannot listen on ${e.address}: the path exists and is not a socket; it is left alone, so move it away or choose another path`
    case 'InheritedFdUnusable':
      return `cannot use the inherited listening socket (fd ${e.fd}): ${e.reason}`
    case 'ReadyFdUnusable':
      return `cannot use the inherited readiness pipe (fd ${e.fd}): ${e.reason}; it is set up by a restart, so start this server without the UNINTERRUPTIBLE_* variables`
    case 'BindChanged':
      return `the config's bind changed from ${e.inherited} to ${e.configured}; a restart keeps the listening socket, so it cannot change the address: stop the server and start it again instead`
    case 'ListenFailed':
      return `cannot listen on ${e.address}: ${e.message}`
  }
}

// ---- helpers -----------------------------------------------------------------------------------


/** Resolves on 'listening' (emitted on nextTick, so the caller continues before any connection is accepted). */
const listenOn =
  (server: net.Server, options: net.ListenOptions | { readonly fd: number }): TE.TaskEither<Errno, void> =>
  () =>
    new Promise((resolve) => {
      const onError = (err: Errno): void => {
        server.removeListener('listening', onListening)
        resolve(E.left(err))
      }
      const onListening = (): void => {
        server.removeListener('error', onError)
        resolve(E.right(undefined))
      }
      server.once('error', onError)
      server.once('listening', onListening)
      server.listen(options) // `{ fd }` is Node's handle form
    })

const fsTask = <A>(f: () => Promise<A>): TE.TaskEither<Errno, A> => TE.tryCatch(f, toErrno)

const fromErrno =
  (bind: Bind) =>
  (err: Errno): ListenError => {
    const address = formatBind(bind)
    switch (err.code) {
      case 'EADDRINUSE':
        return { _tag: 'AddressInUse', address, detail: 'another process is listening there' }
      case 'EACCES':
      case 'EPERM':
        return {
          _tag: 'PermissionDenied',
          address,
          detail:
            bind._tag === 'Tcp' && bind.port < 1024
              ? `ports below 1024 need root or the CAP_NET_BIND_SERVICE capability (setcap 'cap_net_bind_service=+ep' ${process.execPath})`
              : 'this user may not create files in the socket folder',
        }
      case 'EADDRNOTAVAIL':
        return { _tag: 'AddressNotAvailable', address }
      case 'ENOENT':
      case 'ENOTDIR':
        return bind._tag === 'Unix'
          ? { _tag: 'FolderMissing', address, folder: path.dirname(bind.path) }
          : { _tag: 'ListenFailed', address, message: err.message }
      case 'ENOTFOUND':
      case 'EAI_AGAIN':
        return { _tag: 'ListenFailed', address, message: `the host name does not resolve (${err.code})` }
      default:
        return { _tag: 'ListenFailed', address, message: err.message }
    }
  }

const formatAddress = (server: net.Server, bind: Bind): string => {
  const a = server.address()
  return a !== null && typeof a === 'object' ? formatBind({ _tag: 'Tcp', host: a.address, port: a.port }) : formatBind(bind)
}

const withFd = (server: net.Server, bind: Bind): E.Either<ListenError, number> =>
  E.mapLeft(() => ({ _tag: 'ListenFailed' as const, address: formatBind(bind), message: 'the listening socket has no file descriptor' }))(listenFd(server))

const closeQuietly = (server: net.Server): void => {
  if (server.listening) server.close()
}

// ---- TCP ---------------------------------------------------------------------------------------

const bindTcp = (server: net.Server, bind: Bind & { _tag: 'Tcp' }): TE.TaskEither<ListenError, Listener> =>
  pipe(
    listenOn(server, { host: bind.host, port: bind.port }),
    TE.mapLeft(fromErrno(bind)),
    TE.flatMapEither(() => withFd(server, bind)),
    TE.map((fd) => ({ server, fd, bind, address: formatAddress(server, bind), inherited: false, socketId: O.none })),
  )

// ---- UNIX --------------------------------------------------------------------------------------

/** Refuses a live socket or a non-socket at the path; a socket nobody answers on is stale and may be replaced. */
const probeUnix = (bind: Bind & { _tag: 'Unix' }): TE.TaskEither<ListenError, 'absent' | 'stale'> => {
  const address = formatBind(bind)
  const connect: TE.TaskEither<ListenError, 'absent' | 'stale'> = () =>
    new Promise((resolve) => {
      const probe = net.connect({ path: bind.path })
      probe.once('connect', () => {
        probe.destroy()
        resolve(E.left({ _tag: 'AddressInUse', address, detail: 'a live server accepts connections on this socket' }))
      })
      probe.once('error', (err: Errno) => {
        probe.destroy()
        if (err.code === 'ECONNREFUSED') resolve(E.right('stale'))
        else if (err.code === 'ENOENT') resolve(E.right('absent'))
        else if (err.code === 'EAGAIN') resolve(E.left({ _tag: 'AddressInUse', address, detail: 'a live server is using this socket (its backlog is full)' }))
        else resolve(E.left(fromErrno(bind)(err)))
      })
    })
  // libuv reports a missing folder as EACCES when binding, so look at the folder first
  const folder = path.dirname(bind.path)
  const checkFolder: TE.TaskEither<ListenError, void> = pipe(
    fsTask(() => fs.promises.stat(folder)),
    TE.mapLeft((err) => (err.code === 'ENOENT' ? { _tag: 'FolderMissing' as const, address, folder } : fromErrno(bind)(err))),
    TE.flatMap((st) => (st.isDirectory() ? TE.right(undefined) : TE.left<ListenError>({ _tag: 'FolderMissing', address, folder }))),
  )
  const existing: TE.TaskEither<ListenError, O.Option<fs.Stats>> = pipe(
    fsTask(() => fs.promises.lstat(bind.path)),
    TE.map(O.some),
    TE.orElse((err) => (err.code === 'ENOENT' ? TE.right(O.none) : TE.left(err))),
    TE.mapLeft(fromErrno(bind)),
  )
  return pipe(
    checkFolder,
    TE.flatMap(() => existing),
    TE.flatMap(
      O.match(
        () => TE.right('absent' as const),
        (st) => (st.isSocket() ? connect : TE.left<ListenError, 'absent' | 'stale'>({ _tag: 'NotASocket', address })),
      ),
    ),
  )
}

const idOf = (st: fs.BigIntStats): SocketId => ({ dev: String(st.dev), ino: String(st.ino) })
const sameSocket = (a: SocketId, b: SocketId): boolean => a.dev === b.dev && a.ino === b.ino

export const socketIdOf = (p: string): TE.TaskEither<Errno, SocketId> =>
  pipe(
    fsTask(() => fs.promises.lstat(p, { bigint: true })),
    TE.map(idOf),
  )

/**
 * Servers starting at once on one path take turns from the probe to the publish, so two can never both
 * see a stale file and both replace it (the second rename would win and strand the first). The lock is
 * a listening socket in Linux's abstract namespace, named after the path: binding it is exclusive, it
 * leaves no file, and the kernel releases it when its process dies. A server that finds it taken is
 * refused, as it would be a moment later by the winner's live socket. Elsewhere there is no lock: two
 * servers racing onto an absent path are still kept apart by link(), not over a stale file.
 */
const withBindLock = <A>(bind: Bind & { _tag: 'Unix' }, task: TE.TaskEither<ListenError, A>): TE.TaskEither<ListenError, A> => {
  if (process.platform !== 'linux') return task
  const lock = net.createServer()
  const name = `\0uni:${bind.path}` // at most 106 bytes (MAX_UNIX_PATH_BYTES); Linux allows 107
  const release = <B>(e: E.Either<ListenError, B>): T.Task<E.Either<ListenError, B>> =>
    () =>
      new Promise((resolve) => {
        if (lock.listening) lock.close(() => resolve(e))
        else resolve(e)
      })
  return pipe(
    listenOn(lock, { path: name }),
    TE.mapLeft((err): ListenError =>
      err.code === 'EADDRINUSE'
        ? { _tag: 'AddressInUse', address: formatBind(bind), detail: 'another server is starting on this socket path right now' }
        : fromErrno(bind)(err),
    ),
    TE.flatMap(() => task),
    T.flatMap(release),
  )
}

/** The temporary name bound before the rename: `<path>.<pid in base 36>` (see MAX_UNIX_PATH_BYTES). */
export const tempSocketPath = (p: string, pid: number): string => `${p}.${pid.toString(36)}`

const bindUnix = (
  server: net.Server,
  bind: Bind & { _tag: 'Unix' },
  mode: number,
  onStale: () => void,
): TE.TaskEither<ListenError, Listener> => {
  const temp = tempSocketPath(bind.path, process.pid)
  const failAfterBind = (err: Errno): ListenError => {
    closeQuietly(server) // unlinks the temporary name if it is still there
    return err.code === 'EEXIST'
      ? { _tag: 'AddressInUse', address: formatBind(bind), detail: 'another server created this socket file while this one was starting' }
      : fromErrno(bind)(err)
  }
  // onto an absent path: link, which fails if another server has put a file there since the probe;
  // over a stale socket file: rename, which replaces it in one step
  const publish = (found: 'absent' | 'stale'): TE.TaskEither<Errno, void> =>
    found === 'absent'
      ? pipe(
          fsTask(() => fs.promises.link(temp, bind.path)),
          TE.flatMap(() => fsTask(() => fs.promises.unlink(temp))),
        )
      : fsTask(() => fs.promises.rename(temp, bind.path))
  const bindAndPublish = pipe(
    probeUnix(bind),
    TE.tap((found) => TE.fromIO(() => (found === 'stale' ? onStale() : undefined))),
    TE.tap(() => pipe(fsTask(() => fs.promises.rm(temp, { force: true })), TE.mapLeft(fromErrno(bind)))),
    TE.tap(() => pipe(listenOn(server, { path: temp }), TE.mapLeft(fromErrno(bind)))),
    TE.tap(() => pipe(fsTask(() => fs.promises.chmod(temp, mode)), TE.mapLeft(failAfterBind))),
    // the id is the temporary name's: the file is the same after the publish, whatever the path holds by then
    TE.flatMap((found) => pipe(socketIdOf(temp), TE.mapLeft(failAfterBind), TE.map((id) => ({ found, id })))),
    TE.tap(({ found }) => pipe(publish(found), TE.mapLeft(failAfterBind))),
    TE.flatMapEither(({ id }) =>
      E.map((fd: number): Listener => ({ server, fd, bind, address: formatBind(bind), inherited: false, socketId: O.some(id) }))(withFd(server, bind)),
    ),
  )
  return withBindLock(bind, bindAndPublish)
}

/** Removes the socket file, but only while it is still the one we bound: call before closing (inodes are reused). */
export const removeSocketFileIfOwn = (p: string, id: SocketId): TE.TaskEither<Errno, 'removed' | 'replaced' | 'absent'> =>
  pipe(
    socketIdOf(p),
    TE.flatMap((now) =>
      sameSocket(now, id)
        ? pipe(
            fsTask(() => fs.promises.unlink(p)),
            TE.map(() => 'removed' as const),
          )
        : TE.right('replaced' as const),
    ),
    TE.orElse((err) => (err.code === 'ENOENT' ? TE.right('absent' as const) : TE.left(err))),
  )

/**
 * The listener's UNIX socket file goes, if it is still the file this server bound or took over; TCP
 * listeners have none. For a final stop or a failed start, never for a handoff (the file is shared).
 */
export const removeOwnSocketFile = (listener: Listener): TE.TaskEither<Errno, 'removed' | 'replaced' | 'absent' | 'none'> =>
  listener.bind._tag === 'Unix' && O.isSome(listener.socketId)
    ? removeSocketFileIfOwn(listener.bind.path, listener.socketId.value)
    : TE.right('none')

// ---- inherited ---------------------------------------------------------------------------------

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

/**
 * Whether the inherited fds can be what the config asks for: same bind as the parent's, the listening
 * fd an open socket, the readiness fd an open pipe (a socket pair or a FIFO), never anything else the
 * ready byte would be written to and the fd then closed.
 */
export const checkInherited = (inherited: Inherited, bind: Bind): E.Either<ListenError, void> => {
  if (!sameBind(inherited.bind, bind)) {
    return E.left({ _tag: 'BindChanged', inherited: formatBind(inherited.bind), configured: formatBind(bind) })
  }
  const fail = unusable(inherited.listenFd)
  const failReady = (reason: string): ListenError => ({ _tag: 'ReadyFdUnusable', fd: inherited.readyFd, reason })
  return pipe(
    statFd(inherited.listenFd, fail),
    E.flatMap((st) => (st.isSocket() ? E.right(undefined) : E.left(fail(`it is not a socket: ${WRAPPERS}`)))),
    E.flatMap(() => statFd(inherited.readyFd, failReady)),
    E.flatMap((st) => (st.isSocket() || st.isFIFO() ? E.right(undefined) : E.left(failReady('it is not a pipe')))),
  )
}

/**
 * A restart may change `socketMode`: the socket file this process took over gets the configured mode,
 * if the path still holds that file (lstat: a socket with its id, never a symlink). Synchronous: it
 * runs between the pidfile and the ready byte, where no turn of the event loop may pass (see serve).
 */
const applySocketMode = (bind: Bind, socketId: O.Option<SocketId>, mode: number): E.Either<ListenError, void> => {
  if (bind._tag !== 'Unix' || O.isNone(socketId)) return E.right(undefined)
  return pipe(
    E.tryCatch(() => {
      if (sameSocket(idOf(fs.lstatSync(bind.path, { bigint: true })), socketId.value)) fs.chmodSync(bind.path, mode)
    }, toErrno),
    E.orElse((err) => (err.code === 'ENOENT' ? E.right(undefined) : E.left(err))),
    E.mapLeft((err): ListenError => ({ _tag: 'ListenFailed', address: formatBind(bind), message: `cannot give the socket file mode ${mode.toString(8)}: ${err.message}` })),
  )
}

/** Listens on the inherited fd; `checkInherited` has passed already (serve runs it before the pidfile). */
const takeInherited = (server: net.Server, inherited: Inherited, bind: Bind, mode: number): TE.TaskEither<ListenError, Listener> => {
  const fail = unusable(inherited.listenFd)
  const checkFamily = (): E.Either<ListenError, void> => {
    const a = server.address()
    const isTcp = a !== null && typeof a === 'object'
    if (bind._tag === 'Tcp' && !isTcp) return E.left(fail(`it is not a TCP socket, but the bind is ${formatBind(bind)}`))
    if (bind._tag === 'Unix' && isTcp) return E.left(fail(`it is a TCP socket, but the bind is ${formatBind(bind)}`))
    if (bind._tag === 'Tcp' && isTcp && bind.port !== 0 && a.port !== bind.port) {
      return E.left(fail(`it listens on port ${a.port}, but the bind is ${formatBind(bind)}`))
    }
    return E.right(undefined)
  }
  return pipe(
    listenOn(server, { fd: inherited.listenFd }),
    TE.mapLeft((err) => fail(err.message)),
    TE.flatMapEither(() => {
      const checked = pipe(
        checkFamily(),
        E.flatMap(() => applySocketMode(bind, inherited.socketId, mode)),
      )
      if (E.isLeft(checked)) closeQuietly(server)
      return checked
    }),
    TE.map(() => ({
      server,
      fd: inherited.listenFd,
      bind,
      address: formatAddress(server, bind),
      inherited: true,
      socketId: inherited.socketId,
    })),
  )
}

// ---- entry -------------------------------------------------------------------------------------

export interface AcquireOptions {
  readonly bind: Bind
  readonly inherited: O.Option<Inherited>
  readonly socketMode: number
  /** Called when a stale UNIX socket file (nobody answering) is about to be replaced. */
  readonly onStale: () => void
}

/** Listens on `server` (whose 'connection' listener is already attached). */
export const acquire = (server: net.Server, o: AcquireOptions): TE.TaskEither<ListenError, Listener> =>
  O.isSome(o.inherited)
    ? takeInherited(server, o.inherited.value, o.bind, o.socketMode)
    : o.bind._tag === 'Tcp'
      ? bindTcp(server, o.bind)
      : bindUnix(server, o.bind, o.socketMode, o.onStale)
