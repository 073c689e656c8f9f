/**
 * What every way of getting a listener shares: the Listener itself, the errors (with what to do about
 * each), listening as a task, and turning an errno into one of those errors for an address.
 */
import type * as net from 'node:net'
import path = require('node:path')
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import type * as O from 'fp-ts/Option'
import type * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import type * as T from 'fp-ts/Task'
import * as TE from 'fp-ts/TaskEither'
import { type Bind, formatBind } from '../../core/bind'
import type { SocketId } from '../../core/wire/inherit'
import { type Errno, toErrno } from '../os/errno'
import { listenFd } from '../os/handles'

export interface Listener {
  readonly server: net.Server
  readonly fd: number
  readonly bind: Bind
  /** The address actually bound, e.g. the real port when the config asked for port 0. */
  readonly address: string
  readonly inherited: boolean
  /** Device and inode of the UNIX socket file this server created, to recognise it as ours at the final stop. */
  readonly socketId: O.Option<SocketId>
}

/**
 * The server could not get its sockets: a `bind` address (`address`, as the config names it) cannot be
 * listened on, or what a restart or systemd passed down cannot be used. A listener already acquired is
 * given back; nothing serves.
 *
 * @remarks
 * At a first start, fix the address or what holds it. At a restart the old process serves on: the
 * addresses and whether `controlPath` is set cannot change across a restart (`BindChanged`,
 * `ControlChanged`); stop the server and start it again to change them.
 */
export type ListenError =
  /** Another socket listens there: stop that server or choose another address. */
  | { readonly _tag: 'AddressInUse'; readonly address: string; readonly detail: string }
  /** This user may not listen there (a port below 1024, a folder it may not write). */
  | { readonly _tag: 'PermissionDenied'; readonly address: string; readonly detail: string }
  /** The host is not an address of this machine. */
  | { readonly _tag: 'AddressNotAvailable'; readonly address: string }
  /** A UNIX socket's folder does not exist: create it first. */
  | { readonly _tag: 'FolderMissing'; readonly address: string; readonly folder: string }
  /** A UNIX socket's path exists and is not a socket: it is left alone; move it away or choose another path. */
  | { readonly _tag: 'NotASocket'; readonly address: string }
  /** A listening socket the parent passed down (file descriptor `fd`) cannot be used. */
  | { readonly _tag: 'InheritedFdUnusable'; readonly fd: number; readonly reason: string }
  /** The readiness pipe a restart sets up cannot be used: start the server without `UNINTERRUPTIBLE_INHERIT` in its environment. */
  | { readonly _tag: 'ReadyFdUnusable'; readonly fd: number; readonly reason: string }
  /** A restart's config changes `bind`: these addresses were `added` and `removed`. */
  | { readonly _tag: 'BindChanged'; readonly added: readonly string[]; readonly removed: readonly string[] }
  /** A restart's config adds `controlPath` (`added`) or removes it. */
  | { readonly _tag: 'ControlChanged'; readonly added: boolean }
  /** The sockets systemd passed (socket activation) do not match `bind`. */
  | { readonly _tag: 'ActivationMismatch'; readonly detail: string }
  /** Any other failure to listen, with the system's message. */
  | { readonly _tag: 'ListenFailed'; readonly address: string; readonly message: string }

const list = (xs: readonly string[]): string => xs.join(', ')

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
      return `cannot use the inherited readiness pipe (fd ${e.fd}): ${e.reason}; it is set up by a restart, so start this server without UNINTERRUPTIBLE_INHERIT in its environment`
    case 'BindChanged': {
      const what = [e.added.length > 0 ? `adds ${list(e.added)}` : '', e.removed.length > 0 ? `removes ${list(e.removed)}` : ''].filter((x) => x !== '').join(' and ')
      return `the config's bind changed: it ${what}; a restart keeps the listening sockets, so it cannot change the addresses: stop the server and start it again instead`
    }
    case 'ControlChanged':
      return `the config's controlPath was ${e.added ? 'added' : 'removed'}: a restart keeps the control socket, as it keeps the listening sockets; stop the server and start it again instead`
    case 'ActivationMismatch':
      return `socket activation: ${e.detail}`
    case 'ListenFailed':
      return `cannot listen on ${e.address}: ${e.message}`
  }
}

/** Resolves on 'listening' (emitted on nextTick, so the caller continues before any connection is accepted). */
export const listenOn =
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

export const fsTask = <A>(f: () => Promise<A>): TE.TaskEither<Errno, A> => TE.tryCatch(f, toErrno)

export const fromErrno =
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
              ? `ports below 1024 need root or the CAP_NET_BIND_SERVICE capability (setcap 'cap_net_bind_service=+ep' ${process.execPath}), or a socket handed over by systemd (socket activation)`
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

/** The address a server listens on, with the real port. */
export const formatAddress = (server: net.Server, bind: Bind): string => {
  const a = server.address()
  return a !== null && typeof a === 'object' ? formatBind({ _tag: 'Tcp', host: a.address, port: a.port }) : formatBind(bind)
}

export const withFd = (server: net.Server, bind: Bind): E.Either<ListenError, number> =>
  E.mapLeft(() => ({
    _tag: 'ListenFailed' as const,
    address: formatBind(bind),
    message:
      'the listening socket has no file descriptor (in a node:cluster worker the primary owns it: run the server without node:cluster, and set workers in the config to use several processes)',
  }))(listenFd(server))

export const closeQuietly = (server: net.Server): void => {
  if (server.listening) server.close()
}

/** Acquires each item in order; if one fails, those already acquired are released (in order) and the error stands. */
export const allOrNothing = <A, B>(
  items: RNEA.ReadonlyNonEmptyArray<A>,
  acquire: (a: A) => TE.TaskEither<ListenError, B>,
  release: (b: B) => T.Task<unknown>,
): TE.TaskEither<ListenError, RNEA.ReadonlyNonEmptyArray<B>> => {
  const step = (done: readonly B[], i: number): TE.TaskEither<ListenError, readonly B[]> => {
    const item = items[i]
    if (item === undefined) return TE.right(done)
    return pipe(
      acquire(item),
      TE.orElseFirstTaskK(() => async () => {
        for (const b of done) await release(b)()
      }),
      TE.flatMap((b) => step([...done, b], i + 1)),
    )
  }
  // one per item, and there is at least one item
  return TE.map((all: readonly B[]) => all as unknown as RNEA.ReadonlyNonEmptyArray<B>)(step([], 0))
}
