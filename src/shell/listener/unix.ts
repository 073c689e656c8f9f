/**
 * UNIX listeners, and the socket file's life: the stale-file probe, the atomic bind (a socket bound in
 * a private folder, given its mode, then published at the path, so closing never unlinks the path and
 * no other user reaches it with a wider mode), removal only while the file is still ours, and the lock
 * that makes servers starting at once on one path take turns.
 */
import fs = require('node:fs')
import net = require('node:net')
import path = require('node:path')
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as T from 'fp-ts/Task'
import * as TE from 'fp-ts/TaskEither'
import { formatBind, type Unix } from '../../core/bind'
import type { SocketId } from '../../core/wire/inherit'
import { type Errno, toErrno } from '../os/errno'
import { bindPipe } from '../os/handles'
import { loadCrypto } from '../os/lazy'
import { closeQuietly, fromErrno, fsTask, type Listener, type ListenError, listenOn, withFd } from './common'

/** Refuses a live socket or a non-socket at the path; a socket nobody answers on is stale and may be replaced. */
const probeUnix = (bind: Unix): TE.TaskEither<ListenError, 'absent' | 'stale'> => {
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

const socketIdOf = (p: string): TE.TaskEither<Errno, SocketId> =>
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
const withBindLock = <A>(bind: Unix, task: TE.TaskEither<ListenError, A>): TE.TaskEither<ListenError, A> => {
  if (process.platform !== 'linux') return task
  const name = `\0uni:${bind.path}` // at most 106 bytes (MAX_UNIX_PATH_BYTES); Linux allows 107
  return pipe(
    TE.fromEither(bindPipe(name)),
    TE.mapLeft((err): ListenError =>
      err.code === 'EADDRINUSE'
        ? { _tag: 'AddressInUse', address: formatBind(bind), detail: 'another server is starting on this socket path right now' }
        : fromErrno(bind)(err),
    ),
    TE.flatMap((lock) =>
      pipe(
        task,
        T.map((result) => {
          lock.close()
          return result
        }),
      ),
    ),
  )
}

/** Linux's longest socket path: sun_path is 108 bytes, with the terminating NUL. */
const SUN_PATH_BYTES = 107

/** The socket's name inside its private folder. */
const INNER_NAME = 's'

/**
 * A private folder beside `p` (same file system, so link() and rename() can publish from it): made by
 * this process with mode 0700 (a umask can only narrow that), at a random name that did not exist, so
 * it is never one another user made or linked. Short enough that `<folder>/s` fits in sun_path whatever
 * the path (MAX_UNIX_PATH_BYTES leaves at least 4 bytes for the random part).
 */
const makePrivateFolder = (p: string): TE.TaskEither<Errno, string> => {
  const dir = path.dirname(p)
  const fixed = Buffer.byteLength(path.join(dir, '._', INNER_NAME)) - 1 // all but the random part
  const length = Math.max(1, Math.min(12, SUN_PATH_BYTES - fixed))
  const attempt = (left: number): TE.TaskEither<Errno, string> => {
    const folder = path.join(dir, `.${loadCrypto().randomBytes(9).toString('base64url').slice(0, length)}`)
    return pipe(
      fsTask(() => fs.promises.mkdir(folder, { mode: 0o700 })),
      TE.map(() => folder),
      TE.orElse((err) => (err.code === 'EEXIST' && left > 0 ? attempt(left - 1) : TE.left(err))),
    )
  }
  return attempt(5)
}

const removeFolder = (folder: string): T.Task<void> =>
  pipe(
    fsTask(() => fs.promises.rm(folder, { recursive: true, force: true })),
    T.map(() => undefined), // what is left is an empty hidden folder: nothing to fail a start for
  )

/** How a socket gets bound at a temporary name: listening (a server that serves) or not (a supervisor). */
export type BindAt = (temp: string) => TE.TaskEither<Errno, void>

export interface UnixBound {
  readonly socketId: SocketId
}

/**
 * Binds `bind`'s path atomically: probe the path; bind with `bindAt` inside a private folder beside it,
 * where no other user can reach the socket whatever mode the umask gave it; give it `mode`; then publish
 * it at the path: link() onto an absent path (it fails if another server has put a file there since the
 * probe), rename() over a stale socket file (it replaces it in one step). So the socket is reachable by
 * others only at the path, and only with `mode`. `undo` closes what `bindAt` opened when a later step
 * fails. The private folder goes in every case.
 */
export const bindUnixAt = (bind: Unix, mode: number, onStale: () => void, bindAt: BindAt, undo: () => void): TE.TaskEither<ListenError, UnixBound> => {
  const failAfterBind = (err: Errno): ListenError => {
    undo() // unlinks the temporary name if it is still there
    return err.code === 'EEXIST'
      ? { _tag: 'AddressInUse', address: formatBind(bind), detail: 'another server created this socket file while this one was starting' }
      : fromErrno(bind)(err)
  }
  const publish = (temp: string, found: 'absent' | 'stale'): TE.TaskEither<Errno, void> =>
    found === 'absent'
      ? pipe(
          fsTask(() => fs.promises.link(temp, bind.path)),
          TE.flatMap(() => fsTask(() => fs.promises.unlink(temp))),
        )
      : fsTask(() => fs.promises.rename(temp, bind.path))
  const inFolder = (found: 'absent' | 'stale', folder: string): TE.TaskEither<ListenError, UnixBound> => {
    const temp = path.join(folder, INNER_NAME)
    return pipe(
      bindAt(temp),
      TE.mapLeft(fromErrno(bind)),
      TE.flatMap(() => pipe(fsTask(() => fs.promises.chmod(temp, mode)), TE.mapLeft(failAfterBind))),
      // the id is the temporary name's: the file is the same after the publish, whatever the path holds by then
      TE.flatMap(() => pipe(socketIdOf(temp), TE.mapLeft(failAfterBind))),
      TE.tap(() => pipe(publish(temp, found), TE.mapLeft(failAfterBind))),
      TE.map((socketId) => ({ socketId })),
      T.tap(() => removeFolder(folder)),
    )
  }
  return withBindLock(
    bind,
    pipe(
      probeUnix(bind),
      TE.tap((found) => TE.fromIO(() => (found === 'stale' ? onStale() : undefined))),
      TE.flatMap((found) =>
        pipe(
          makePrivateFolder(bind.path),
          TE.mapLeft(fromErrno(bind)),
          TE.flatMap((folder) => inFolder(found, folder)),
        ),
      ),
    ),
  )
}

export const bindUnix = (server: net.Server, bind: Unix, mode: number, onStale: () => void): TE.TaskEither<ListenError, Listener> =>
  pipe(
    bindUnixAt(bind, mode, onStale, (temp) => listenOn(server, { path: temp }), () => closeQuietly(server)),
    TE.flatMapEither(({ socketId }) =>
      E.map((fd: number): Listener => ({ server, fd, bind, address: formatBind(bind), inherited: false, socketId: O.some(socketId) }))(withFd(server, bind)),
    ),
  )

/** Removes the socket file, but only while it is still the one we bound: call before closing (inodes are reused). */
const removeSocketFileIfOwn = (p: string, id: SocketId): TE.TaskEither<Errno, 'removed' | 'replaced' | 'absent'> =>
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

export type SocketFileOutcome = 'removed' | 'replaced' | 'absent' | 'none'

/**
 * The listener's UNIX socket file goes, if it is still the file this server bound or took over; TCP
 * listeners, and files this server did not create, have none. For a final stop or a failed start,
 * never for a handoff (the file is shared).
 */
export const removeOwnSocketFile = (l: Pick<Listener, 'bind' | 'socketId'>): TE.TaskEither<Errno, SocketFileOutcome> =>
  l.bind._tag === 'Unix' && O.isSome(l.socketId) ? removeSocketFileIfOwn(l.bind.path, l.socketId.value) : TE.right('none')

/**
 * A restart may change `socketMode`: the socket file this process took over gets the configured mode,
 * if the path still holds that file (lstat: a socket with its id, never a symlink). Synchronous: it
 * runs between the pidfile and the ready byte, where no turn of the event loop may pass (see serve).
 */
export const applySocketMode = (bind: Unix, socketId: SocketId, mode: number): E.Either<ListenError, void> =>
  pipe(
    E.tryCatch(() => {
      if (sameSocket(idOf(fs.lstatSync(bind.path, { bigint: true })), socketId)) fs.chmodSync(bind.path, mode)
    }, toErrno),
    E.orElse((err) => (err.code === 'ENOENT' ? E.right(undefined) : E.left(err))),
    E.mapLeft((err): ListenError => ({ _tag: 'ListenFailed', address: formatBind(bind), message: `cannot give the socket file mode ${mode.toString(8)}: ${err.message}` })),
  )
