/**
 * Config codec: the JSON shape (io-ts), the environment fallbacks the gem has (`PORT`, `PID_FILE`),
 * defaults, and every problem collected into one error that names each key and what was expected. Pure.
 * The input type (`ConfigJson`) takes plain JSON values; the decoded `Config` carries branded ones.
 */
import { sequenceS } from 'fp-ts/Apply'
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as RA from 'fp-ts/ReadonlyArray'
import * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import * as t from 'io-ts'
import { type Bind, type BindError, type Binds, formatBind, MAX_UNIX_PATH_BYTES, parseBind, sameBind } from './bind'
import { type Cidr, formatCidr, parseCidr } from './cidr'
import { BindFromString, checked, described, type Env, optional, type Problem, problemsOf, show } from './codec'
import { RESTART_SIGNALS, type RestartSignal } from './signal'

// ---- value codecs: each one's name says, in words, what it expects --------------------------------

/** setTimeout's limit. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1

/** A whole number in a range, branded once checked, plain in JSON. */
const brandedInt = <B extends number>(expected: string, min: number): t.Type<B, number> => {
  const is = (u: unknown): u is B => typeof u === 'number' && Number.isInteger(u) && u >= min && u <= MAX_TIMEOUT_MS
  return new t.Type<B, number>(expected, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), (b) => b)
}

interface MillisecondsBrand {
  readonly Milliseconds: unique symbol
}
export type Milliseconds = t.Branded<number, MillisecondsBrand>
export const Milliseconds = brandedInt<Milliseconds>(`a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`, 1)
/** A duration that may be zero: zero turns the feature off. */
export const MillisecondsOrZero = brandedInt<Milliseconds>(`a whole number of milliseconds from 0 to ${MAX_TIMEOUT_MS}`, 0)

interface FileModeBrand {
  readonly FileMode: unique symbol
}
export type FileMode = t.Branded<number, FileModeBrand>
const FILE_MODE = /^(?:0o?)?([0-7]{3})$/
const isFileMode = (u: unknown): u is FileMode => typeof u === 'number' && Number.isInteger(u) && u >= 0 && u <= 0o777
export const FileModeFromString = new t.Type<FileMode, string>(
  'a file mode as an octal string, such as "0660"',
  isFileMode,
  (u, c) => {
    const m = typeof u === 'string' ? FILE_MODE.exec(u) : null
    const mode = m?.[1] !== undefined ? parseInt(m[1], 8) : undefined
    return isFileMode(mode) ? t.success(mode) : t.failure(u, c)
  },
  (m) => `0${m.toString(8).padStart(3, '0')}`,
)

/** How many workers a supervisor runs: a count, or `auto` for one per core. */
export type WorkerCount = number | 'auto'
export const MAX_WORKERS = 1024
const WorkerCount = described<WorkerCount>(
  `a whole number of workers from 1 to ${MAX_WORKERS}, or "auto" (one per core)`,
  (u): u is WorkerCount => u === 'auto' || (typeof u === 'number' && Number.isInteger(u) && u >= 1 && u <= MAX_WORKERS),
)

/** Node's module compile cache for the processes a server starts: on (a folder of the library's choosing), off, or in a folder. */
export type CompileCache = { readonly _tag: 'Default' } | { readonly _tag: 'Off' } | { readonly _tag: 'At'; readonly path: string }
const CompileCacheJson = new t.Type<CompileCache, boolean | string>(
  'true, false, or an absolute path to a folder that only this user may write',
  (u): u is CompileCache => typeof u === 'object' && u !== null && '_tag' in u,
  (u, c) =>
    u === true
      ? t.success({ _tag: 'Default' })
      : u === false
        ? t.success({ _tag: 'Off' })
        : typeof u === 'string' && u.startsWith('/') && !u.includes('\0')
          ? t.success({ _tag: 'At', path: u })
          : t.failure(u, c),
  (v) => (v._tag === 'At' ? v.path : v._tag === 'Default'),
)

const NonEmptyString = described('a non-empty string', (u): u is string => typeof u === 'string' && u.trim().length > 0)

/** The control socket's path: absolute (a command run from anywhere reads it from the config), short enough for a socket. */
const ControlPath = described(
  `an absolute path for a UNIX socket, at most ${MAX_UNIX_PATH_BYTES} bytes`,
  (u): u is string => typeof u === 'string' && u.startsWith('/') && !u.endsWith('/') && !u.includes('\0') && Buffer.byteLength(u) <= MAX_UNIX_PATH_BYTES,
)

const isStrings = (u: unknown): u is readonly string[] => Array.isArray(u) && u.every((x) => typeof x === 'string')

/** A list of networks: each a CIDR (or one address), checked with what is wrong about it. */
const Networks = new t.Type<readonly Cidr[], readonly string[]>(
  'a list of networks such as ["10.0.0.0/8", "2001:db8::/32"]',
  (u): u is readonly Cidr[] => Array.isArray(u),
  (u, c) => {
    if (!isStrings(u)) return t.failure(u, c)
    const parsed = u.map(parseCidr)
    const bad = parsed.findIndex(E.isLeft)
    const problem = parsed[bad]
    return problem !== undefined && E.isLeft(problem) ? t.failure(u, c, `entry ${bad}: ${problem.left}`) : t.success(parsed.flatMap((p) => (E.isRight(p) ? [p.right] : [])))
  },
  (cs) => cs.map(formatCidr),
)

export const CLIENT_CERTIFICATES = ['none', 'request', 'require'] as const
export type ClientCertificates = (typeof CLIENT_CERTIFICATES)[number]

const oneOf = <K extends string>(keys: readonly K[]) => described(`one of ${keys.join(', ')}`, (u): u is K => keys.some((k) => k === u))

const Path = (what: string) => described(`a path to ${what}`, (u): u is string => typeof u === 'string' && u !== '')

const TLS_FIELDS = {
  certPath: Path('a PEM certificate (chain)'),
  keyPath: Path('a PEM private key'),
  caPath: optional(Path('PEM CA certificates')),
  clientCertificates: optional(oneOf(CLIENT_CERTIFICATES)),
  handshakeTimeoutMs: optional(Milliseconds),
}

const TlsFields = t.type(TLS_FIELDS)

/** TLS: where the PEM files are (read by each generation as it starts), and whether clients show certificates. */
const TlsJson = new t.Type<t.TypeOf<typeof TlsFields>, t.OutputOf<typeof TlsFields>>(
  'an object: { "certPath": ..., "keyPath": ..., "caPath"?: ..., "clientCertificates"?: "none" | "request" | "require", "handshakeTimeoutMs"?: ... }',
  (u): u is t.TypeOf<typeof TlsFields> => TlsFields.is(u),
  (u, c) => {
    const unknown = typeof u === 'object' && u !== null ? Object.keys(u).filter((k) => !(k in TLS_FIELDS)) : []
    if (unknown.length > 0) return t.failure(u, c, `${unknown.join(', ')}: not a key of tls; the keys are ${Object.keys(TLS_FIELDS).join(', ')}`)
    return TlsFields.validate(u, c)
  },
  (v) => TlsFields.encode(v),
)

export interface TlsConfig {
  readonly certPath: string
  readonly keyPath: string
  readonly caPath: O.Option<string>
  readonly clientCertificates: ClientCertificates
  /** A handshake not done by then is given up. */
  readonly handshakeTimeoutMs: Milliseconds
}

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = (typeof LOG_LEVELS)[number]

// ---- the JSON shape -------------------------------------------------------------------------------

/** Every key but `bind`, which has an environment fallback and is resolved on its own. */
const fields = {
  startCommand: NonEmptyString,
  pidfilePath: NonEmptyString,
  logPath: NonEmptyString,
  logLevel: oneOf(LOG_LEVELS),
  drainTimeoutMs: Milliseconds,
  readyTimeoutMs: Milliseconds,
  restartSignal: oneOf(RESTART_SIGNALS),
  socketMode: FileModeFromString,
  idleGraceMs: Milliseconds,
  probationMs: MillisecondsOrZero,
  workers: WorkerCount,
  controlPath: ControlPath,
  tls: TlsJson,
  allowedNetworks: Networks,
  compileCache: CompileCacheJson,
}
const Settings = t.partial(fields)
type Settings = t.TypeOf<typeof Settings>

const BindJson = t.union([t.string, t.readonlyArray(t.string)])

export const ConfigJson = t.partial({ bind: BindJson, ...fields })
/**
 * The config as written in JSON, and as `serve` takes it: every key optional, values as JSON has them
 * (plain numbers, octal strings for modes).
 */
export type ConfigJson = t.OutputOf<typeof ConfigJson>
export const CONFIG_KEYS: readonly (keyof ConfigJson)[] = Object.keys(ConfigJson.props).filter((k): k is keyof ConfigJson => k in ConfigJson.props)

// ---- the decoded config ---------------------------------------------------------------------------

export interface Config {
  /** Every address to listen on, in the order given; no two the same. */
  readonly binds: Binds
  /** Command line run with `sh -c`; `none` re-runs this process's own command line. */
  readonly startCommand: O.Option<string>
  readonly pidfilePath: O.Option<string>
  readonly logPath: O.Option<string>
  readonly logLevel: LogLevel
  readonly drainTimeoutMs: O.Option<Milliseconds>
  readonly readyTimeoutMs: Milliseconds
  readonly restartSignal: RestartSignal
  readonly socketMode: FileMode
  /** While draining, a connection with nothing left to do (HTTP: idle; raw: handler done, client half-open) is closed after this long. */
  readonly idleGraceMs: Milliseconds
  /**
   * After a new process (or generation) is ready, the old one keeps serving this long; a new one that dies
   * meanwhile leaves the old one serving as before.
   */
  readonly probationMs: Milliseconds
  /** Set: the first process supervises this many workers (see modes/supervisor); none: it serves itself. */
  readonly workers: O.Option<WorkerCount>
  /** Where the server listens for control requests (restart, status, stop); none: it does not. */
  readonly controlPath: O.Option<string>
  readonly tls: O.Option<TlsConfig>
  /** Only clients from these networks are served (TCP); none: every client is. */
  readonly allowedNetworks: O.Option<readonly Cidr[]>
  /** Node's compile cache in the processes this server starts (Node 22.1 and later), to start them faster. */
  readonly compileCache: CompileCache
}

export const DEFAULTS = {
  logLevel: 'info',
  readyTimeoutMs: checked(Milliseconds, 10_000),
  restartSignal: 'SIGUSR1',
  socketMode: checked(FileModeFromString, '0660'),
  idleGraceMs: checked(Milliseconds, 1_000),
  probationMs: checked(Milliseconds, 1_000),
  handshakeTimeoutMs: checked(Milliseconds, 10_000),
} as const

// ---- errors ---------------------------------------------------------------------------------------

export type ConfigProblem = Problem

export interface ConfigError {
  readonly _tag: 'InvalidConfig'
  readonly problems: RNEA.ReadonlyNonEmptyArray<ConfigProblem>
}

export const describeConfigError = (e: ConfigError): string => {
  const n = e.problems.length
  return `invalid config (${n} problem${n === 1 ? '' : 's'}):\n${e.problems.map((p) => `  - ${p.key}: ${p.message}`).join('\n')}`
}

// ---- decoding -------------------------------------------------------------------------------------

type Checked<A> = E.Either<RNEA.ReadonlyNonEmptyArray<ConfigProblem>, A>
const Validation = E.getApplicativeValidation(RNEA.getSemigroup<ConfigProblem>())

const problem = (key: string, message: string): RNEA.ReadonlyNonEmptyArray<ConfigProblem> => [{ key, message }]

const knownKeys = (record: Readonly<Record<string, unknown>>): Checked<void> => {
  const unknown = Object.keys(record).filter((k) => !CONFIG_KEYS.some((key) => key === k))
  const problems = unknown.map((k): ConfigProblem => ({ key: k, message: `is not a config key; the keys are ${CONFIG_KEYS.join(', ')}` }))
  return RA.isNonEmpty(problems) ? E.left(problems) : E.right(undefined)
}

const EXPECTED_BIND = `${BindFromString.name}, or a non-empty list of addresses`

/** A list of addresses: each valid, each given once. */
const bindList = (raw: readonly unknown[]): Checked<Binds> => {
  if (!RA.isNonEmpty(raw)) return E.left(problem('bind', `is an empty list: expected ${EXPECTED_BIND}`))
  const decoded = RNEA.mapWithIndex((i, u: unknown) => E.mapLeft(problemsOf(`bind.${i}`))(BindFromString.decode(u)))(raw)
  return pipe(
    RNEA.sequence(Validation)(decoded),
    E.flatMap((binds) => {
      const repeated = binds.flatMap((b, i) => {
        const first = binds.findIndex((a) => sameBind(a, b))
        return first < i ? [{ key: `bind.${i}`, message: `${formatBind(b)} is also bind.${first}: each address may be given once` }] : []
      })
      return RA.isNonEmpty(repeated) ? E.left(repeated) : E.right(binds)
    }),
  )
}

/** `bind` from the config, else tcp://0.0.0.0:$PORT as in the gem. */
const resolveBinds = (raw: unknown, env: Env): Checked<Binds> => {
  if (typeof raw === 'string') return E.bimap(problemsOf('bind'), (b: Bind): Binds => [b])(BindFromString.decode(raw))
  if (Array.isArray(raw)) return bindList(raw)
  if (raw !== undefined) return E.left(problem('bind', `got ${show(raw)}, expected ${EXPECTED_BIND}`))
  const port = env.PORT
  if (port === undefined || port === '') {
    return E.left(problem('bind', `is missing: expected ${BindFromString.name}, or a PORT environment variable to listen on tcp://0.0.0.0:$PORT`))
  }
  return E.bimap(
    (_: BindError) => problem('bind', `is not set, and PORT=${show(port)} is not a port: expected a whole number from 0 to 65535`),
    (b: Bind): Binds => [b],
  )(parseBind(`tcp://0.0.0.0:${port}`))
}

const nonEmptyEnv = (v: string | undefined): O.Option<string> => (v !== undefined && v !== '' ? O.some(v) : O.none)

const toConfig = (binds: Binds, s: Settings, env: Env): Config => ({
  binds,
  startCommand: O.fromNullable(s.startCommand),
  pidfilePath: O.alt(() => nonEmptyEnv(env.PID_FILE))(O.fromNullable(s.pidfilePath)),
  logPath: O.fromNullable(s.logPath),
  logLevel: s.logLevel ?? DEFAULTS.logLevel,
  drainTimeoutMs: O.fromNullable(s.drainTimeoutMs),
  readyTimeoutMs: s.readyTimeoutMs ?? DEFAULTS.readyTimeoutMs,
  restartSignal: s.restartSignal ?? DEFAULTS.restartSignal,
  socketMode: s.socketMode ?? DEFAULTS.socketMode,
  idleGraceMs: s.idleGraceMs ?? DEFAULTS.idleGraceMs,
  probationMs: s.probationMs ?? DEFAULTS.probationMs,
  workers: O.fromNullable(s.workers),
  controlPath: O.fromNullable(s.controlPath),
  tls: O.map(
    (j: NonNullable<Settings['tls']>): TlsConfig => ({
      certPath: j.certPath,
      keyPath: j.keyPath,
      caPath: O.fromNullable(j.caPath),
      clientCertificates: j.clientCertificates ?? 'none',
      handshakeTimeoutMs: j.handshakeTimeoutMs ?? DEFAULTS.handshakeTimeoutMs,
    }),
  )(O.fromNullable(s.tls)),
  allowedNetworks: O.fromNullable(s.allowedNetworks),
  compileCache: s.compileCache ?? { _tag: 'Default' },
})

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)

/** Decodes the parsed JSON config, applying environment fallbacks and defaults; every problem is reported at once. */
export const decodeConfig = (input: unknown, env: Env): E.Either<ConfigError, Config> => {
  const checked: Checked<Config> = isRecord(input)
    ? pipe(
        sequenceS(Validation)({
          keys: knownKeys(input),
          binds: resolveBinds(input.bind, env),
          settings: E.mapLeft(problemsOf())(Settings.decode(input)),
        }),
        E.map(({ binds, settings }) => toConfig(binds, settings, env)),
      )
    : E.left(problem('(config)', `got ${show(input)}, expected a JSON object`))
  return E.mapLeft((problems: RNEA.ReadonlyNonEmptyArray<ConfigProblem>): ConfigError => ({ _tag: 'InvalidConfig', problems }))(checked)
}
