/**
 * Socket activation: systemd (a `.socket` unit, or `systemd-socket-activate`) starts the server with
 * listening sockets at fds 3, 4, ... and says so in LISTEN_FDS and LISTEN_PID (and names them in
 * LISTEN_FDNAMES). The first generation adopts them instead of binding: each is matched to an address of
 * `bind` by what it is (read from /proc/net, so no handle is wrapped around it), and every one must be
 * matched. From then on they are passed on at every restart like any listener. Their socket files are
 * systemd's: this server never removes them. With adopted sockets a privileged port needs no root.
 */
import fs = require('node:fs')
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import type * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import { type Bind, type Binds, formatBind } from '../../core/bind'
import type { Env } from '../../core/codec'
import type { InheritedListener } from '../../core/wire/inherit'
import { once } from '../os/lazy'
import type { ListenError } from './common'

/** What systemd passed: the fds from 3, with their names if it gave them. */
export interface Activation {
  readonly fds: readonly { readonly fd: number; readonly name: string | undefined }[]
}

export const ACTIVATION_ENV = ['LISTEN_FDS', 'LISTEN_PID', 'LISTEN_FDNAMES'] as const

/** The sockets systemd passed to this very process, if any (LISTEN_PID guards against inherited variables). */
export const readActivation = (env: Env, pid: number): O.Option<Activation> => {
  const count = Number(env.LISTEN_FDS)
  if (env.LISTEN_PID !== String(pid) || !Number.isInteger(count) || count < 1) return O.none
  const names = env.LISTEN_FDNAMES?.split(':') ?? []
  return O.some({ fds: Array.from({ length: count }, (_, i) => ({ fd: 3 + i, name: names[i] })) })
}

/** The address a socket is bound to, as a bind, from /proc/net (the kernel's table of sockets, by inode). */
export type SocketAddress = { readonly _tag: 'Tcp'; readonly host: string; readonly port: number } | { readonly _tag: 'Unix'; readonly path: string } | { readonly _tag: 'Unknown' }

/** `0100007F:1F90` (IPv4, host byte order per 32-bit word) or the IPv6 form, as an address and port. Pure. */
export const parseProcAddress = (hex: string): { readonly host: string; readonly port: number } | undefined => {
  const [addr, port] = hex.split(':')
  if (addr === undefined || port === undefined) return undefined
  const words = addr.match(/.{8}/g)?.map((w) => (w.match(/../g) ?? []).reverse().join('')) ?? []
  const bytes = words.join('').match(/../g)?.map((b) => parseInt(b, 16)) ?? []
  if (bytes.length === 4) return { host: bytes.join('.'), port: parseInt(port, 16) }
  if (bytes.length !== 16) return undefined
  const groups = Array.from({ length: 8 }, (_, i) => (((bytes[2 * i] ?? 0) << 8) | (bytes[2 * i + 1] ?? 0)).toString(16))
  const mapped = groups.slice(0, 5).every((g) => g === '0') && groups[5] === 'ffff'
  const host = mapped ? bytes.slice(12).join('.') : compressIpv6(groups)
  return { host, port: parseInt(port, 16) }
}

const compressIpv6 = (groups: readonly string[]): string => {
  // the longest run of zero groups becomes ::
  let best = { at: -1, len: 0 }
  for (let i = 0; i < groups.length; ) {
    if (groups[i] !== '0') {
      i++
      continue
    }
    let j = i
    while (j < groups.length && groups[j] === '0') j++
    if (j - i > best.len) best = { at: i, len: j - i }
    i = j
  }
  if (best.len < 2) return groups.join(':')
  return `${groups.slice(0, best.at).join(':')}::${groups.slice(best.at + best.len).join(':')}`
}

/**
 * A line of /proc/net/unix: `Num: RefCount Protocol Flags Type St Inode Path`. The path is the rest of
 * the line after one space, as bound: it may contain spaces (and end with one), so it is not split. Pure.
 */
export const parseProcUnixLine = (line: string): { readonly inode: string; readonly path: string } | undefined => {
  const m = /^\s*\S+:(?:\s+\S+){5}\s+(\d+)(?: (.*))?$/.exec(line)
  const inode = m?.[1]
  return inode === undefined ? undefined : { inode, path: m?.[2] ?? '' }
}

const readProc = (file: string): readonly string[] => {
  try {
    return fs.readFileSync(file, 'utf8').split('\n').slice(1)
  } catch {
    return []
  }
}

/** The kernel's socket tables, each read on first use: once for all the passed fds. */
const procTables = (): { readonly tcp: () => readonly string[]; readonly unix: () => readonly string[] } => ({
  tcp: once(() => [...readProc('/proc/net/tcp'), ...readProc('/proc/net/tcp6')]),
  unix: once(() => readProc('/proc/net/unix')),
})

/** What the socket at `fd` is bound to. */
const socketAddressOf = (fd: number, tables: ReturnType<typeof procTables>): SocketAddress => {
  let inode: string
  try {
    const st = fs.fstatSync(fd, { bigint: true })
    if (!st.isSocket()) return { _tag: 'Unknown' }
    inode = String(st.ino)
  } catch {
    return { _tag: 'Unknown' }
  }
  for (const line of tables.tcp()) {
    const cols = line.trim().split(/\s+/)
    if (cols[9] === inode && cols[1] !== undefined) {
      const a = parseProcAddress(cols[1])
      if (a !== undefined) return { _tag: 'Tcp', ...a }
    }
  }
  for (const line of tables.unix()) {
    const entry = parseProcUnixLine(line)
    if (entry?.inode === inode && entry.path.startsWith('/')) return { _tag: 'Unix', path: entry.path }
  }
  return { _tag: 'Unknown' }
}

const describeAddress = (a: SocketAddress): string => (a._tag === 'Unknown' ? 'not a bound stream socket' : formatBind(a))

/** A bind names a socket when it has its path, or its port and its address (a host name matches any address). */
export const bindMatches = (bind: Bind, a: SocketAddress): boolean => {
  if (bind._tag === 'Unix') return a._tag === 'Unix' && a.path === bind.path
  if (a._tag !== 'Tcp' || a.port !== bind.port) return false
  const isIp = /^[\d.]+$/.test(bind.host) || bind.host.includes(':')
  return !isIp || bind.host === a.host
}

/**
 * Every address of `bind` gets the passed socket that matches it, and every passed socket is used:
 * otherwise the config and the socket unit disagree, which is refused with both sides named.
 */
export const matchActivation = (
  binds: Binds,
  activation: Activation,
  addressOf?: (fd: number) => SocketAddress,
): E.Either<ListenError, RNEA.ReadonlyNonEmptyArray<InheritedListener>> => {
  const tables = procTables()
  const lookup = addressOf ?? ((fd: number) => socketAddressOf(fd, tables))
  const passed = activation.fds.map((f) => ({ ...f, address: lookup(f.fd) }))
  const listing = passed.map((p) => `fd ${p.fd}${p.name !== undefined ? ` (${p.name})` : ''}: ${describeAddress(p.address)}`).join('; ')
  const matched: InheritedListener[] = []
  for (const bind of binds) {
    const m = passed.find((p) => bindMatches(bind, p.address) && !matched.some((x) => x.fd === p.fd))
    if (m === undefined) return E.left({ _tag: 'ActivationMismatch', detail: `${formatBind(bind)} is not among the sockets systemd passed (${listing})` })
    matched.push({ bind, fd: m.fd, socketId: O.none })
  }
  const unused = passed.filter((p) => !matched.some((x) => x.fd === p.fd))
  if (unused.length > 0) {
    return E.left({
      _tag: 'ActivationMismatch',
      detail: `systemd passed ${unused.map((p) => `fd ${p.fd} (${describeAddress(p.address)})`).join(', ')}, which no address of bind names; bind every socket of the socket unit`,
    })
  }
  // one per bind, and there is at least one bind
  return E.right(matched as unknown as RNEA.ReadonlyNonEmptyArray<InheritedListener>)
}
