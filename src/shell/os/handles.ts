/**
 * Every place the library reaches into Node's internals, kept together (docs/ARCHITECTURE.md, "Node internals", lists them with the
 * versions each was checked on; test/unit/internals.test.ts checks each on the Node it runs on):
 * - `server._handle.fd`: a listening server's file descriptor, to pass it on;
 * - `net._createServerHandle`: sockets bound without listening, as node:cluster's primary makes its
 *   shared handles (a pidfile lock, a supervisor's listeners, which only its workers accept on);
 * - `tlsSocket._parent`: the plain socket under a server's TLS socket;
 * - `process.moduleLoadList`: whether a built-in module was loaded already.
 */
import net = require('node:net')
import type { Server } from 'node:net'
import { getSystemErrorName } from 'node:util'
import * as E from 'fp-ts/Either'

export interface NoFd {
  readonly _tag: 'NoFd'
}

/** A field the typings do not show, read as what it is: unknown until checked. */
const internal = (o: unknown, key: string): unknown => (typeof o === 'object' && o !== null ? Reflect.get(o, key) : undefined)

export const listenFd = (server: Server): E.Either<NoFd, number> => {
  const fd = internal(internal(server, '_handle'), 'fd')
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? E.right(fd) : E.left({ _tag: 'NoFd' })
}

/** A socket handle that is bound (or adopted from an fd) and never accepts. */
export interface BoundHandle {
  readonly fd: number
  /**
   * TCP only: the address and port it is bound to, or why it is not bound: libuv reports a bind's
   * EADDRINUSE only at listen (or here), leaving the socket unbound, so a socket that is never listened
   * on must be checked.
   */
  readonly tcpAddress: () => E.Either<NodeJS.ErrnoException, { readonly address: string; readonly port: number }>
  readonly close: () => void
}

interface RawHandle {
  readonly fd: number
  readonly close: () => void
  readonly getsockname?: (out: { address?: string; port?: number }) => number
}

type CreateServerHandle = (address: string | undefined, port: number | undefined, addressType: number | undefined, fd: number | undefined, flags?: number) => RawHandle | number

// a function to call: its signature is Node's own (lib/net.js), which no check at run time can give
const create = (net as unknown as { readonly _createServerHandle: CreateServerHandle })._createServerHandle

/** A negative libuv error number as the error Node would throw. */
const errnoError = (code: number, what: string): NodeJS.ErrnoException => {
  let name = String(code)
  try {
    name = getSystemErrorName(code)
  } catch {
    // an unknown number: keep it
  }
  const err: NodeJS.ErrnoException = new Error(`${what}: ${name}`)
  err.code = name
  err.errno = code
  return err
}

const wrap = (h: RawHandle): BoundHandle => ({
  fd: h.fd,
  tcpAddress: () => {
    if (h.getsockname === undefined) return E.left(errnoError(-22, 'getsockname: not a TCP socket')) // EINVAL
    const out: { address?: string; port?: number } = {}
    const r = h.getsockname(out)
    if (r !== 0) return E.left(errnoError(r, 'getsockname'))
    return out.address !== undefined && out.port !== undefined ? E.right({ address: out.address, port: out.port }) : E.left(errnoError(-22, 'getsockname: no address'))
  },
  close: () => h.close(),
})

const made = (r: RawHandle | number, what: string): E.Either<NodeJS.ErrnoException, BoundHandle> =>
  typeof r === 'number' ? E.left(errnoError(r, what)) : E.right(wrap(r))

/** A UNIX socket bound at `path` (an abstract name when it starts with NUL), not listening. */
export const bindPipe = (path: string): E.Either<NodeJS.ErrnoException, BoundHandle> => made(create(path, -1, -1, undefined, 0), `bind ${path.replace('\0', '@')}`)

/** A TCP socket bound to an IP address and port, not listening. */
export const bindTcpHandle = (ip: string, port: number): E.Either<NodeJS.ErrnoException, BoundHandle> =>
  made(create(ip, port, net.isIPv6(ip) ? 6 : 4, undefined, 0), `bind ${ip}:${port}`)

/** Adopts a socket fd this process was given (systemd's, or a parent's) without listening on it again. */
export const adoptFd = (fd: number): E.Either<NodeJS.ErrnoException, BoundHandle> => made(create(undefined, undefined, undefined, fd, 0), `adopt fd ${fd}`)

/** The plain socket a TLS socket wraps (a server's TLSSocket made from an accepted connection). */
export const plainSocketOf = (tlsSocket: net.Socket): net.Socket | undefined => {
  // once per TLS connection: a plain property read (internal() would be no safer, since instanceof checks it)
  const parent = (tlsSocket as unknown as { readonly _parent?: unknown })._parent
  return parent instanceof net.Socket ? parent : undefined
}

/** Whether Node has loaded the built-in module `name` in this process; `undefined` when that cannot be told. */
export const builtinLoaded = (name: string): boolean | undefined => {
  const loaded = internal(process, 'moduleLoadList')
  return Array.isArray(loaded) ? loaded.includes(`NativeModule ${name}`) : undefined
}
