/**
 * Bind parser: turns a `bind` string (`tcp://host:port`, `tcp://[::1]:port`, `unix:///abs/path`) into a
 * typed address, or an error saying what was expected. Pure.
 */
import * as E from 'fp-ts/Either'
import type * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import { isIPv4, isIPv6 } from 'node:net' // pure string checks, no I/O

/** A TCP address to listen on (`tcp://host:port`); exported as `TcpBind`. */
export interface Tcp {
  /** Which kind of address this is. */
  readonly _tag: 'Tcp'
  /** A host name, an IPv4 address, or an IPv6 address (without the brackets the config has around it). */
  readonly host: string
  /** From 0 to 65535; 0 picks a free port (the `listening` log line says which). */
  readonly port: number
}

/** A UNIX socket to listen on (`unix:///absolute/path`); exported as `UnixBind`. */
export interface Unix {
  /** Which kind of address this is. */
  readonly _tag: 'Unix'
  /** The socket file's absolute path. */
  readonly path: string
}

/** An address to listen on, as decoded from one of the config's `bind` strings. */
export type Bind = Tcp | Unix

/** Every address a server listens on (the decoded `bind`): at least one, no two the same. */
export type Binds = RNEA.ReadonlyNonEmptyArray<Bind>

export const tcp = (host: string, port: number): Bind => ({ _tag: 'Tcp', host, port })
export const unix = (path: string): Bind => ({ _tag: 'Unix', path })

/**
 * Longest UNIX socket path accepted, in bytes. Linux allows 107; the first generation binds in a
 * private folder beside the path, as `<folder>/.<random>/s`, then publishes it at the path: with a
 * one-byte name at this limit, 4 bytes are left for the random part (see shell/listener/unix.ts).
 */
export const MAX_UNIX_PATH_BYTES = 101

export type BindError =
  | { readonly _tag: 'UnsupportedScheme'; readonly input: string }
  | { readonly _tag: 'MalformedTcp'; readonly input: string }
  | { readonly _tag: 'InvalidHost'; readonly input: string; readonly host: string }
  | { readonly _tag: 'InvalidPort'; readonly input: string; readonly port: string }
  | { readonly _tag: 'RelativeUnixPath'; readonly input: string }
  | { readonly _tag: 'InvalidUnixPath'; readonly input: string; readonly reason: string }

const EXPECTED = 'expected tcp://host:port, tcp://[ipv6]:port or unix:///absolute/path'

export const describeBindError = (e: BindError): string => {
  switch (e._tag) {
    case 'UnsupportedScheme':
      return `"${e.input}" is not an address: ${EXPECTED}`
    case 'MalformedTcp':
      return `"${e.input}" is not a TCP address: expected tcp://host:port (IPv6 in brackets: tcp://[::1]:port)`
    case 'InvalidHost':
      return `"${e.input}" has an invalid host "${e.host}": expected a host name, an IPv4 address or an IPv6 address in brackets`
    case 'InvalidPort':
      return `"${e.input}" has an invalid port "${e.port}": expected a whole number from 0 to 65535`
    case 'RelativeUnixPath':
      return `"${e.input}" is not an absolute UNIX socket path: expected unix:///absolute/path (three slashes)`
    case 'InvalidUnixPath':
      return `"${e.input}" is not a usable UNIX socket path: ${e.reason}`
  }
}

const HOSTNAME = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/
const TCP = /^tcp:\/\/(?:\[([^\]]*)\]|([^[\]:/]*)):([^:/]*)$/

const parsePort = (input: string, raw: string): E.Either<BindError, number> => {
  const n = /^\d{1,5}$/.test(raw) ? Number(raw) : NaN
  return n >= 0 && n <= 65535 ? E.right(n) : E.left({ _tag: 'InvalidPort', input, port: raw })
}

const parseTcp = (input: string): E.Either<BindError, Bind> => {
  const m = TCP.exec(input)
  if (m === null) return E.left({ _tag: 'MalformedTcp', input })
  const [, v6, name = '', rawPort = ''] = m
  const hostOk = v6 !== undefined ? isIPv6(v6) : isIPv4(name) || HOSTNAME.test(name)
  const host = v6 ?? name
  if (!hostOk) return E.left({ _tag: 'InvalidHost', input, host })
  return E.map((port: number) => tcp(host, port))(parsePort(input, rawPort))
}

const parseUnix = (input: string): E.Either<BindError, Bind> => {
  const path = input.slice('unix://'.length)
  if (!path.startsWith('/')) return E.left({ _tag: 'RelativeUnixPath', input })
  if (path.includes('\0')) return E.left({ _tag: 'InvalidUnixPath', input, reason: 'it contains a NUL byte' })
  if (path.endsWith('/')) return E.left({ _tag: 'InvalidUnixPath', input, reason: 'it names a folder, not a file' })
  const bytes = Buffer.byteLength(path)
  if (bytes > MAX_UNIX_PATH_BYTES) {
    return E.left({
      _tag: 'InvalidUnixPath',
      input,
      reason: `it is ${bytes} bytes long; the limit is ${MAX_UNIX_PATH_BYTES} (Linux allows 107, minus room for the private folder the socket is bound in before it is published)`,
    })
  }
  return E.right(unix(path))
}

export const parseBind = (input: string): E.Either<BindError, Bind> =>
  input.startsWith('tcp://')
    ? parseTcp(input)
    : input.startsWith('unix://')
      ? parseUnix(input)
      : E.left({ _tag: 'UnsupportedScheme', input })

/** The canonical string form; `parseBind(formatBind(b))` gives `b` back. */
export const formatBind = (b: Bind): string => {
  switch (b._tag) {
    case 'Tcp':
      return b.host.includes(':') ? `tcp://[${b.host}]:${b.port}` : `tcp://${b.host}:${b.port}`
    case 'Unix':
      return `unix://${b.path}`
  }
}

export const sameBind = (a: Bind, b: Bind): boolean => formatBind(a) === formatBind(b)

/** What changed from `before` to `now`, by address, ignoring order. */
export const bindsDiff = (before: readonly Bind[], now: readonly Bind[]): { readonly added: readonly Bind[]; readonly removed: readonly Bind[] } => ({
  added: now.filter((b) => !before.some((a) => sameBind(a, b))),
  removed: before.filter((a) => !now.some((b) => sameBind(a, b))),
})
