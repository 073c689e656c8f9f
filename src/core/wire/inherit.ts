/**
 * The inheritance variable (a wire format): what a running server tells a process it starts, a
 * successor that takes over or a worker it supervises, as one environment variable holding JSON: its
 * role, its generation, and which of its file descriptors mean what, by name (the listeners, each with
 * its address; the channel back to the parent; a successor's pidfile lock and control socket). One
 * codec reads and writes it (`readInherited(inheritEnv(i))` gives `i` back); a malformed value is
 * refused with every field that is wrong. Pure: the environment is passed in as a record.
 *
 *   {"role":"successor","generation":3,"parentPid":812,"restartSignal":"SIGUSR1","channel":6,
 *    "listeners":[{"bind":"unix:///run/app.sock","fd":3,"socketId":"2049:1234"}],"pidlock":4,"control":{"fd":5}}
 *   {"role":"worker","generation":2,"parentPid":700,"restartSignal":"SIGUSR1","channel":4,
 *    "listeners":[{"bind":"tcp://0.0.0.0:80","fd":3}],"slot":0,"supervisorControl":true}
 */
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import * as t from 'io-ts'
import { type Bind, type Binds, sameBind } from '../bind'
import { BindFromString, described, type Env, failAt, fieldOf, formatProblems, intBetween, isRecord, jsonFromString, nonEmpty, optional, type Problem, problemsOf } from '../codec'
import { isRestartSignal, RESTART_SIGNALS, type RestartSignal } from '../signal'

export const INHERIT_ENV = 'UNINTERRUPTIBLE_INHERIT'

/** Every variable this module owns; the shell removes them from its environment once read. */
export const ENV_KEYS: readonly string[] = [INHERIT_ENV]

/** Identity of a UNIX socket file (device and inode, as decimal strings: they may exceed 2^53). */
export interface SocketId {
  readonly dev: string
  readonly ino: string
}

export const formatSocketId = (id: SocketId): string => `${id.dev}:${id.ino}`

export interface InheritedListener {
  readonly bind: Bind
  readonly fd: number
  /** The socket file this server created (UNIX); `none` for TCP, and for a file it does not own (systemd's). */
  readonly socketId: O.Option<SocketId>
}

export interface InheritedControl {
  readonly fd: number
  readonly socketId: O.Option<SocketId>
}

/** What every process a server starts is told. */
interface Started {
  readonly generation: number
  readonly parentPid: number
  readonly restartSignal: RestartSignal
  /** The pipe to the parent: this process reports ready on it; a worker keeps it open. */
  readonly channelFd: number
  readonly listeners: RNEA.ReadonlyNonEmptyArray<InheritedListener>
}

/** A successor takes over from its parent, and restarts itself later. */
export interface InheritedSuccessor extends Started {
  readonly role: 'successor'
  /** The lock that marks the pidfile as held by a running server (see shell/os/pidlock.ts). */
  readonly pidlockFd: O.Option<number>
  /** The control socket (listening; its file's identity when this server created it), to take over. */
  readonly control: O.Option<InheritedControl>
}

/** A worker serves beside others for a supervisor, which restarts it. */
export interface InheritedWorker extends Started {
  readonly role: 'worker'
  /** Its place among its supervisor's workers, from 0. */
  readonly slot: number
  /**
   * Its supervisor answers on a control socket (which it keeps), so the worker's config must name one,
   * as the supervisor's did (see ControlChanged).
   */
  readonly supervisorControl: boolean
  /**
   * The server's own stdout and stderr, passed when the supervisor passes on what the worker prints
   * there (see shell/log/relay.ts): the worker's log goes to `stdout` once the supervisor is gone.
   */
  readonly output: WorkerOutputFds
}

/** A worker's fds for the server's own stdout and stderr (`none`: that output is the worker's own, inherited). */
export interface WorkerOutputFds {
  readonly stdout: O.Option<number>
  readonly stderr: O.Option<number>
}

export type Inherited = InheritedSuccessor | InheritedWorker

export const bindsOf = (i: Inherited): Binds => RNEA.map((l: InheritedListener) => l.bind)(i.listeners)

/**
 * The environment variable in which a restart passes its sockets to the new process
 * (`UNINTERRUPTIBLE_INHERIT`) is malformed.
 *
 * @remarks
 * Only the library sets it: start the server without it in the environment (a stale value copied into
 * a shell or a unit file does this).
 */
export interface InheritError {
  /** Tags this error in {@link ServeError}. */
  readonly _tag: 'MalformedInheritance'
  /** The variable's value. */
  readonly value: string
  /** What is wrong with it. */
  readonly problems: RNEA.ReadonlyNonEmptyArray<Problem>
}

export const describeInheritError = (e: InheritError): string =>
  `inherited-socket environment is malformed: ${INHERIT_ENV}=${JSON.stringify(e.value.length > 200 ? `${e.value.slice(0, 197)}...` : e.value)}: ${formatProblems(e.problems)}; start the server without it, or let a running server set it`

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
const ControlJson = t.type({ fd: Fd, socketId: optional(SocketIdFromString) }, 'the control socket: {"fd": N, "socketId": "dev:ino"}')

/** The JSON object, field by field; which fields go with which role is checked after (see fromJson). */
const InheritJson = t.type({
  role: described<Inherited['role']>('"successor" or "worker"', (u): u is Inherited['role'] => u === 'successor' || u === 'worker'),
  generation: Generation,
  parentPid: Pid,
  restartSignal: described<RestartSignal>(`one of ${RESTART_SIGNALS.join(', ')}`, (u): u is RestartSignal => typeof u === 'string' && isRestartSignal(u)),
  channel: Fd,
  listeners: nonEmpty(ListenerJson),
  pidlock: optional(Fd),
  slot: optional(intBetween(0, 65535, 'a worker slot number from 0')),
  control: optional(ControlJson),
  supervisorControl: optional(described<boolean>('true or false', (u): u is boolean => typeof u === 'boolean')),
  stdout: optional(Fd),
  stderr: optional(Fd),
})
type InheritJson = t.TypeOf<typeof InheritJson>

/**
 * Where a child finds what its parent passes: the listeners at fds 3, 4, ... in order, then the pidfile
 * lock and the control socket if there are, then the channel.
 */
export const childLayout = (
  listeners: number,
  pidlock: boolean,
  control: boolean,
  output: { readonly stdout: boolean; readonly stderr: boolean } = { stdout: false, stderr: false },
): { readonly listeners: readonly number[]; readonly pidlock: O.Option<number>; readonly control: O.Option<number>; readonly output: WorkerOutputFds; readonly channel: number } => {
  const first = 3
  let next = first + listeners
  const take = (present: boolean): O.Option<number> => (present ? O.some(next++) : O.none)
  const pidlockFd = take(pidlock)
  const controlFd = take(control)
  const stdout = take(output.stdout)
  const stderr = take(output.stderr)
  return { listeners: Array.from({ length: listeners }, (_, i) => first + i), pidlock: pidlockFd, control: controlFd, output: { stdout, stderr }, channel: next }
}

// ---- the codec ------------------------------------------------------------------------------------

const listenerOf = (l: t.TypeOf<typeof ListenerJson>): InheritedListener => ({ bind: l.bind, fd: l.fd, socketId: O.fromNullable(l.socketId) })

/** The checks across fields, in the order they are reported: each fd has one meaning, each role its own fields, each address once. */
const fromJson = (j: InheritJson, c: t.Context): t.Validation<Inherited> => {
  const named: readonly (readonly [string, number])[] = [
    ['channel', j.channel],
    ...j.listeners.map((l, i) => [`listeners.${i}.fd`, l.fd] as const),
    ...(j.pidlock !== undefined ? [['pidlock', j.pidlock] as const] : []),
    ...(j.control !== undefined ? [['control.fd', j.control.fd] as const] : []),
    ...(j.stdout !== undefined ? [['stdout', j.stdout] as const] : []),
    ...(j.stderr !== undefined ? [['stderr', j.stderr] as const] : []),
  ]
  const twice = named.find(([, fd], i) => named.findIndex(([, other]) => other === fd) < i)
  if (twice !== undefined) {
    const first = named.find(([, fd]) => fd === twice[1])?.[0] ?? ''
    return failAt(c, twice[0].split('.'), twice[1], `fd ${twice[1]} is also ${first}: each fd has one meaning`)
  }
  const repeated = j.listeners.findIndex((l, i) => j.listeners.findIndex((m) => sameBind(m.bind, l.bind)) < i)
  const common = { generation: j.generation, parentPid: j.parentPid, restartSignal: j.restartSignal, channelFd: j.channel, listeners: RNEA.map(listenerOf)(j.listeners) }
  const checked = (i: Inherited): t.Validation<Inherited> =>
    repeated >= 0 ? failAt(c, ['listeners', String(repeated), 'bind'], j.listeners[repeated], 'the address is given twice') : t.success(i)
  switch (j.role) {
    case 'successor':
      if (j.generation < 2) return failAt(c, ['generation'], j.generation, 'a successor is generation 2 or later')
      if (j.slot !== undefined) return failAt(c, ['slot'], j.slot, 'only a worker has a slot')
      if (j.supervisorControl === true) return failAt(c, ['supervisorControl'], true, 'only a worker has a supervisor')
      if (j.stdout !== undefined) return failAt(c, ['stdout'], j.stdout, 'only a worker has its output passed on')
      if (j.stderr !== undefined) return failAt(c, ['stderr'], j.stderr, 'only a worker has its output passed on')
      return checked({
        role: 'successor',
        ...common,
        pidlockFd: O.fromNullable(j.pidlock),
        control: j.control === undefined ? O.none : O.some({ fd: j.control.fd, socketId: O.fromNullable(j.control.socketId) }),
      })
    case 'worker':
      if (j.slot === undefined) return failAt(c, ['slot'], undefined, 'is missing: a worker has a slot')
      if (j.pidlock !== undefined) return failAt(c, ['pidlock'], j.pidlock, 'only a successor holds the pidfile lock')
      if (j.control !== undefined) return failAt(c, ['control'], j.control, 'only a successor takes over the control socket')
      return checked({ role: 'worker', ...common, slot: j.slot, supervisorControl: j.supervisorControl === true, output: { stdout: O.fromNullable(j.stdout), stderr: O.fromNullable(j.stderr) } })
  }
}

const toJson = (i: Inherited): InheritJson => {
  const common = {
    role: i.role,
    generation: i.generation,
    parentPid: i.parentPid,
    restartSignal: i.restartSignal,
    channel: i.channelFd,
    listeners: RNEA.map((l: InheritedListener) => ({ bind: l.bind, fd: l.fd, socketId: O.toUndefined(l.socketId) }))(i.listeners),
  }
  switch (i.role) {
    case 'successor':
      return {
        ...common,
        pidlock: O.toUndefined(i.pidlockFd),
        slot: undefined,
        control: O.toUndefined(O.map((k: InheritedControl) => ({ fd: k.fd, socketId: O.toUndefined(k.socketId) }))(i.control)),
        supervisorControl: undefined,
        stdout: undefined,
        stderr: undefined,
      }
    case 'worker':
      // written only when true, as every release has
      return {
        ...common,
        pidlock: undefined,
        slot: i.slot,
        control: undefined,
        supervisorControl: i.supervisorControl ? true : undefined,
        stdout: O.toUndefined(i.output.stdout),
        stderr: O.toUndefined(i.output.stderr),
      }
  }
}

/** What a process started by a server is told, as the JSON object (absent fields are `undefined`, which JSON leaves out). */
export const InheritedCodec = new t.Type<Inherited, t.OutputOf<typeof InheritJson>>(
  'an object with role, generation, parentPid, restartSignal, channel and listeners',
  (u): u is Inherited => isRecord(u) && (u.role === 'successor' || u.role === 'worker'),
  (u, c) => E.flatMap((j: InheritJson) => fromJson(j, c))(InheritJson.validate(u, c)),
  (i) => InheritJson.encode(toJson(i)),
)

/** The variable's value: JSON text. */
export const InheritedFromString = jsonFromString((reason) => `is not JSON: ${reason}`).pipe(InheritedCodec, InheritedCodec.name)

// ---- reading and writing ----------------------------------------------------------------------------

/** `none` when this process was started by hand; `some` when a running server started it. */
export const readInherited = (env: Env): E.Either<InheritError, O.Option<Inherited>> => {
  const value = env[INHERIT_ENV]
  if (value === undefined) return E.right(O.none)
  return pipe(
    InheritedFromString.decode(value),
    E.mapLeft((errors): InheritError => ({ _tag: 'MalformedInheritance', value, problems: problemsOf()(errors) })),
    E.map(O.some),
  )
}

/** What a parent puts in the environment of a process it starts. `readInherited(inheritEnv(i))` gives `i` back. */
export const inheritEnv = (i: Inherited): Record<string, string> => ({ [INHERIT_ENV]: InheritedFromString.encode(i) })

/**
 * The channel to the parent, read on its own before anything else (see shell/os/boot.ts), so a failure
 * before the whole variable is checked can still be reported there; `none` when there is no usable one.
 */
export const parentChannel = (env: Env): O.Option<number> => {
  const value = env[INHERIT_ENV]
  if (value === undefined) return O.none
  return pipe(
    jsonFromString(() => '').decode(value),
    E.flatMap((json) => Fd.decode(fieldOf(json, 'channel'))),
    O.fromEither,
  )
}
