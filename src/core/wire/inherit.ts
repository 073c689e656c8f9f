/**
 * Fd inheritance: what a running server tells a process it starts (a successor that takes over, or a
 * worker it supervises), as one environment variable holding JSON: its role, its generation, and which
 * of its file descriptors mean what, by name (the listeners, each with its address; the channel back to
 * the parent; the pidfile lock). The reader turns it back into "inherited" or "none", or says exactly
 * which field is wrong. Pure: the environment is passed in as a record.
 */
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import * as t from 'io-ts'
import { type Bind, type Binds, formatBind, sameBind } from '../bind'
import { BindFromString, described, intBetween, optional, type Problem, problemsOf } from '../codec'
import { RESTART_SIGNALS, type RestartSignal } from '../signal'

export const INHERIT_ENV = 'UNINTERRUPTIBLE_INHERIT'

/** Every variable this module owns; the shell removes them from its environment once read. */
export const ENV_KEYS: readonly string[] = [INHERIT_ENV]

export type Env = Readonly<Record<string, string | undefined>>

/** Identity of a UNIX socket file (device and inode, as decimal strings: they may exceed 2^53). */
export interface SocketId {
  readonly dev: string
  readonly ino: string
}

export const formatSocketId = (id: SocketId): string => `${id.dev}:${id.ino}`

/**
 * What a process started by a server is there for: a successor takes over from its parent and restarts
 * itself later; a worker serves beside others for a supervisor, which restarts it.
 */
export type Role = 'successor' | 'worker'

export interface InheritedListener {
  readonly bind: Bind
  readonly fd: number
  /** The socket file this server created (UNIX); `none` for TCP, and for a file it does not own (systemd's). */
  readonly socketId: O.Option<SocketId>
}

export interface Inherited {
  readonly role: Role
  readonly generation: number
  readonly parentPid: number
  readonly restartSignal: RestartSignal
  /** The pipe to the parent: this process reports ready on it; a worker keeps it open. */
  readonly channelFd: number
  readonly listeners: RNEA.ReadonlyNonEmptyArray<InheritedListener>
  /** The lock that marks the pidfile as held by a running server (see shell/os/pidlock.ts). */
  readonly pidlockFd: O.Option<number>
  /** A worker's place among its supervisor's workers, from 0. */
  readonly slot: O.Option<number>
  /** The control socket (listening; its file's identity when this server created it): a successor takes it over. */
  readonly control: O.Option<InheritedControl>
  /**
   * A worker: its supervisor answers on a control socket (which it keeps), so the worker's config must
   * name one, as the supervisor's did (see ControlChanged). Always false for a successor.
   */
  readonly supervisorControl: boolean
}

export interface InheritedControl {
  readonly fd: number
  readonly socketId: O.Option<SocketId>
}

export const bindsOf = (i: Inherited): Binds => RNEA.map((l: InheritedListener) => l.bind)(i.listeners)

export interface InheritError {
  readonly _tag: 'MalformedInheritance'
  readonly value: string
  readonly problems: RNEA.ReadonlyNonEmptyArray<Problem>
}

export const describeInheritError = (e: InheritError): string =>
  `inherited-socket environment is malformed: ${INHERIT_ENV}=${JSON.stringify(e.value.length > 200 ? `${e.value.slice(0, 197)}...` : e.value)}: ${e.problems
    .map((p) => `${p.key}: ${p.message}`)
    .join('; ')}; start the server without it, or let a running server set it`

// ---- the JSON -----------------------------------------------------------------------------------

const Fd = intBetween(3, 65535, 'a file descriptor number from 3 to 65535 (0-2 are stdio)')
const Pid = intBetween(1, 2 ** 31 - 1, 'a process id')
const Generation = intBetween(1, 2 ** 31 - 1, 'a generation number of 1 or more')

const SOCKET_ID = /^(\d{1,20}):(\d{1,20})$/
const SocketIdFromString = new t.Type<SocketId, string>(
  'device:inode, two decimal numbers',
  (u): u is SocketId => typeof u === 'object' && u !== null && 'dev' in u && 'ino' in u,
  (u, c) => {
    const m = typeof u === 'string' ? SOCKET_ID.exec(u) : null
    return m?.[1] !== undefined && m[2] !== undefined ? t.success({ dev: m[1], ino: m[2] }) : t.failure(u, c)
  },
  formatSocketId,
)


const ListenerJson = t.type({ bind: BindFromString, fd: Fd, socketId: optional(SocketIdFromString) })

const NonEmpty = <C extends t.Mixed>(c: C) =>
  t.refinement(t.readonlyArray(c), (a) => a.length > 0, `a non-empty list of ${c.name}`) as unknown as t.Type<
    RNEA.ReadonlyNonEmptyArray<t.TypeOf<C>>,
    readonly t.OutputOf<C>[]
  >

const InheritJson = t.type({
  role: described<Role>('"successor" or "worker"', (u): u is Role => u === 'successor' || u === 'worker'),
  generation: Generation,
  parentPid: Pid,
  restartSignal: described<RestartSignal>(`one of ${RESTART_SIGNALS.join(', ')}`, (u): u is RestartSignal => (RESTART_SIGNALS as readonly unknown[]).includes(u)),
  channel: Fd,
  listeners: NonEmpty(ListenerJson),
  pidlock: optional(Fd),
  slot: optional(intBetween(0, 65535, 'a worker slot number from 0')),
  control: optional(t.type({ fd: Fd, socketId: optional(SocketIdFromString) }, 'the control socket: {"fd": N, "socketId": "dev:ino"}')),
  supervisorControl: optional(described<boolean>('true or false', (u): u is boolean => typeof u === 'boolean')),
})

/**
 * Where a child finds what its parent passes: the listeners at fds 3, 4, ... in order, then the pidfile
 * lock and the control socket if there are, then the channel.
 */
export const childLayout = (
  listeners: number,
  pidlock: boolean,
  control: boolean,
): { readonly listeners: readonly number[]; readonly pidlock: O.Option<number>; readonly control: O.Option<number>; readonly channel: number } => {
  const first = 3
  let next = first + listeners
  const take = (present: boolean): O.Option<number> => (present ? O.some(next++) : O.none)
  const pidlockFd = take(pidlock)
  const controlFd = take(control)
  return { listeners: Array.from({ length: listeners }, (_, i) => first + i), pidlock: pidlockFd, control: controlFd, channel: next }
}

// ---- reading and writing ----------------------------------------------------------------------------

const malformed = (value: string, problems: RNEA.ReadonlyNonEmptyArray<Problem>): InheritError => ({ _tag: 'MalformedInheritance', value, problems })

const fromJson = (value: string, j: t.TypeOf<typeof InheritJson>): E.Either<InheritError, Inherited> => {
  const inherited: Inherited = {
    role: j.role,
    generation: j.generation,
    parentPid: j.parentPid,
    restartSignal: j.restartSignal,
    channelFd: j.channel,
    listeners: RNEA.map((l: t.TypeOf<typeof ListenerJson>): InheritedListener => ({ bind: l.bind, fd: l.fd, socketId: O.fromNullable(l.socketId) }))(j.listeners),
    pidlockFd: O.fromNullable(j.pidlock),
    slot: O.fromNullable(j.slot),
    control: j.control === undefined ? O.none : O.some({ fd: j.control.fd, socketId: O.fromNullable(j.control.socketId) }),
    supervisorControl: j.supervisorControl === true,
  }
  const named: readonly (readonly [string, number])[] = [
    ['channel', inherited.channelFd],
    ...inherited.listeners.map((l, i) => [`listeners.${i}.fd`, l.fd] as const),
    ...(O.isSome(inherited.pidlockFd) ? [['pidlock', inherited.pidlockFd.value] as const] : []),
    ...(O.isSome(inherited.control) ? [['control.fd', inherited.control.value.fd] as const] : []),
  ]
  const twice = named.find(([, fd], i) => named.findIndex(([, other]) => other === fd) < i)
  if (twice !== undefined) {
    const first = named.find(([, fd]) => fd === twice[1])?.[0] ?? ''
    return E.left(malformed(value, [{ key: twice[0], message: `fd ${twice[1]} is also ${first}: each fd has one meaning` }]))
  }
  if (j.role === 'successor' && j.generation < 2) return E.left(malformed(value, [{ key: 'generation', message: 'a successor is generation 2 or later' }]))
  if (j.role === 'worker' && j.slot === undefined) return E.left(malformed(value, [{ key: 'slot', message: 'is missing: a worker has a slot' }]))
  if (j.role !== 'worker' && j.supervisorControl === true) return E.left(malformed(value, [{ key: 'supervisorControl', message: 'only a worker has a supervisor' }]))
  const repeated = inherited.listeners.findIndex((l, i) => inherited.listeners.findIndex((m) => sameBind(m.bind, l.bind)) < i)
  if (repeated >= 0) return E.left(malformed(value, [{ key: `listeners.${repeated}.bind`, message: 'the address is given twice' }]))
  return E.right(inherited)
}

/** `none` when this process was started by hand; `some` when a running server started it. */
export const readInherited = (env: Env): E.Either<InheritError, O.Option<Inherited>> => {
  const value = env[INHERIT_ENV]
  if (value === undefined) return E.right(O.none)
  return pipe(
    E.tryCatch(
      (): unknown => JSON.parse(value),
      (err) => malformed(value, [{ key: '(value)', message: `is not JSON: ${err instanceof Error ? err.message : String(err)}` }]),
    ),
    E.flatMap((json) => E.mapLeft((errors: t.Errors) => malformed(value, problemsOf()(errors)))(InheritJson.decode(json))),
    E.flatMap((j) => fromJson(value, j)),
    E.map(O.some),
  )
}

/** What a parent puts in the environment of a process it starts. `readInherited(inheritEnv(i))` gives `i` back. */
export const inheritEnv = (i: Inherited): Record<string, string> => ({
  [INHERIT_ENV]: JSON.stringify({
    role: i.role,
    generation: i.generation,
    parentPid: i.parentPid,
    restartSignal: i.restartSignal,
    channel: i.channelFd,
    listeners: i.listeners.map((l) => ({ bind: formatBind(l.bind), fd: l.fd, ...(O.isSome(l.socketId) ? { socketId: formatSocketId(l.socketId.value) } : {}) })),
    ...(O.isSome(i.pidlockFd) ? { pidlock: i.pidlockFd.value } : {}),
    ...(O.isSome(i.slot) ? { slot: i.slot.value } : {}),
    ...(O.isSome(i.control)
      ? { control: { fd: i.control.value.fd, ...(O.isSome(i.control.value.socketId) ? { socketId: formatSocketId(i.control.value.socketId.value) } : {}) } }
      : {}),
    ...(i.supervisorControl ? { supervisorControl: true } : {}),
  }),
})
