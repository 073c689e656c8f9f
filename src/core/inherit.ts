/**
 * Fd inheritance: the environment variables a parent sets for its successor, and the reader that turns
 * them back into "inherited socket" or "none". Pure: the environment is passed in as a record.
 */
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import { type Bind, formatBind, parseBind } from './bind'
import { isRestartSignal, type RestartSignal } from './signal'

export const ENV = {
  listenFd: 'UNINTERRUPTIBLE_LISTEN_FD',
  readyFd: 'UNINTERRUPTIBLE_READY_FD',
  generation: 'UNINTERRUPTIBLE_GENERATION',
  bind: 'UNINTERRUPTIBLE_BIND',
  socketId: 'UNINTERRUPTIBLE_SOCKET_ID',
  parentPid: 'UNINTERRUPTIBLE_PARENT_PID',
  restartSignal: 'UNINTERRUPTIBLE_RESTART_SIGNAL',
} as const

/** Where a successor finds its inheritance: the listening socket at fd 3, the readiness pipe at fd 4. */
export const CHILD_FDS = { listen: 3, ready: 4 } as const

/** Every variable this module owns; the shell removes them from its environment once read. */
export const ENV_KEYS: readonly string[] = Object.values(ENV)

/** Identity of a UNIX socket file (device and inode, as decimal strings: they may exceed 2^53). */
export interface SocketId {
  readonly dev: string
  readonly ino: string
}

export interface Inherited {
  readonly listenFd: number
  readonly readyFd: number
  readonly generation: number
  readonly bind: Bind
  readonly socketId: O.Option<SocketId>
  readonly parentPid: number
  readonly restartSignal: RestartSignal
}

export type InheritError =
  | { readonly _tag: 'MissingVariable'; readonly name: string; readonly present: readonly string[] }
  | { readonly _tag: 'MalformedVariable'; readonly name: string; readonly value: string; readonly expected: string }
  | { readonly _tag: 'SameFd'; readonly fd: number }

export const describeInheritError = (e: InheritError): string => {
  switch (e._tag) {
    case 'MissingVariable':
      return `inherited-socket environment is incomplete: ${e.name} is missing while ${e.present.join(', ')} ${e.present.length === 1 ? 'is' : 'are'} set; start the server without any UNINTERRUPTIBLE_* variables, or let a running server set them`
    case 'MalformedVariable':
      return `inherited-socket environment is malformed: ${e.name}=${JSON.stringify(e.value)}, expected ${e.expected}`
    case 'SameFd':
      return `inherited-socket environment is malformed: ${ENV.listenFd} and ${ENV.readyFd} are both ${e.fd}; they must differ`
  }
}

export type Env = Readonly<Record<string, string | undefined>>

const REQUIRED = [ENV.listenFd, ENV.readyFd, ENV.generation, ENV.bind, ENV.parentPid] as const

const int =
  (min: number, max: number, expected: string) =>
  (name: string, value: string): E.Either<InheritError, number> => {
    const n = /^\d{1,10}$/.test(value) ? Number(value) : NaN
    return n >= min && n <= max ? E.right(n) : E.left({ _tag: 'MalformedVariable', name, value, expected })
  }

const fd = int(3, 65535, 'a file descriptor number from 3 to 65535 (0-2 are stdio)')
const generation = int(2, 2 ** 31 - 1, 'a generation number of 2 or more')
const pid = int(1, 2 ** 31 - 1, 'a process id')

const bindValue = (name: string, value: string): E.Either<InheritError, Bind> =>
  E.mapLeft(() => ({ _tag: 'MalformedVariable' as const, name, value, expected: 'a bind address such as tcp://0.0.0.0:80 or unix:///run/app.sock' }))(
    parseBind(value),
  )

const socketIdValue = (name: string, value: string): E.Either<InheritError, SocketId> => {
  const m = /^(\d{1,20}):(\d{1,20})$/.exec(value)
  return m?.[1] !== undefined && m[2] !== undefined
    ? E.right({ dev: m[1], ino: m[2] })
    : E.left({ _tag: 'MalformedVariable', name, value, expected: 'device:inode, two decimal numbers' })
}

const signalValue = (name: string, value: string | undefined): E.Either<InheritError, RestartSignal> =>
  value === undefined
    ? E.right('SIGUSR1')
    : isRestartSignal(value)
      ? E.right(value)
      : E.left({ _tag: 'MalformedVariable', name, value, expected: 'SIGUSR1, SIGUSR2 or SIGHUP' })

const readPresent = (env: Env, present: readonly string[]): E.Either<InheritError, Inherited> => {
  const missing = REQUIRED.find((k) => env[k] === undefined)
  if (missing !== undefined) return E.left({ _tag: 'MissingVariable', name: missing, present })
  const get = (k: string): string => env[k] ?? ''
  return pipe(
    E.Do,
    E.bind('listenFd', () => fd(ENV.listenFd, get(ENV.listenFd))),
    E.bind('readyFd', () => fd(ENV.readyFd, get(ENV.readyFd))),
    E.bind('generation', () => generation(ENV.generation, get(ENV.generation))),
    E.bind('bind', () => bindValue(ENV.bind, get(ENV.bind))),
    E.bind('parentPid', () => pid(ENV.parentPid, get(ENV.parentPid))),
    E.bind('restartSignal', () => signalValue(ENV.restartSignal, env[ENV.restartSignal])),
    E.bind('socketId', ({ bind }) => {
      const raw = env[ENV.socketId]
      if (raw !== undefined) return E.map((id: SocketId) => O.some(id))(socketIdValue(ENV.socketId, raw))
      return bind._tag === 'Unix'
        ? E.left<InheritError, O.Option<SocketId>>({ _tag: 'MissingVariable', name: ENV.socketId, present })
        : E.right(O.none)
    }),
    E.filterOrElse(
      (i) => i.listenFd !== i.readyFd,
      (i): InheritError => ({ _tag: 'SameFd', fd: i.listenFd }),
    ),
  )
}

/** `none` when this process was started by hand; `some` when a running server started it as its successor. */
export const readInherited = (env: Env): E.Either<InheritError, O.Option<Inherited>> => {
  const present = REQUIRED.filter((k) => env[k] !== undefined)
  return present.length === 0 ? E.right(O.none) : E.map((i: Inherited) => O.some(i))(readPresent(env, present))
}

/** What a parent puts in its successor's environment. `readInherited(inheritEnv(i))` gives `i` back. */
export const inheritEnv = (i: Inherited): Record<string, string> => ({
  [ENV.listenFd]: String(i.listenFd),
  [ENV.readyFd]: String(i.readyFd),
  [ENV.generation]: String(i.generation),
  [ENV.bind]: formatBind(i.bind),
  [ENV.parentPid]: String(i.parentPid),
  [ENV.restartSignal]: i.restartSignal,
  ...(O.isSome(i.socketId) ? { [ENV.socketId]: `${i.socketId.value.dev}:${i.socketId.value.ino}` } : {}),
})
