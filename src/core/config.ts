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
import { allOf } from './allOf'
import { type Bind, type BindError, type Binds, formatBind, MAX_UNIX_PATH_BYTES, parseBind, sameBind } from './bind'
import { type Cidr, formatCidr, parseCidr } from './cidr'
import { BindFromString, checked, described, type Env, optional, type Problem, problemsOf, show, withJsonType } from './codec'
import { RESTART_SIGNALS, type RestartSignal } from './signal'

// ---- value codecs: each one's name says, in words, what it expects --------------------------------

/** setTimeout's limit. */
export const MAX_TIMEOUT_MS = 2 ** 31 - 1

/** A whole number in a range, branded once checked, plain in JSON. */
const brandedInt = <B extends number>(expected: string, min: number): t.Type<B, number> => {
  const is = (u: unknown): u is B => typeof u === 'number' && Number.isInteger(u) && u >= min && u <= MAX_TIMEOUT_MS
  return new t.Type<B, number>(expected, is, (u, c) => (is(u) ? t.success(u) : t.failure(u, c)), (b) => b)
}

/** The brand of {@link Milliseconds}: only the config's decoding makes one. */
export interface MillisecondsBrand {
  /** Never there at run time: a type-level mark. */
  readonly Milliseconds: unique symbol
}
/**
 * A duration of the decoded {@link Config}: a whole number of milliseconds, from 1 to 2147483647 (the
 * most `setTimeout` takes), or from 0 where 0 turns a feature off (`probationMs`). Branded: only the
 * config's decoding (`validateConfig`, `assertConfig`) makes one; it is a plain number at run time.
 */
export type Milliseconds = t.Branded<number, MillisecondsBrand>
const MillisecondsCodec = brandedInt<Milliseconds>(`a whole number of milliseconds from 1 to ${MAX_TIMEOUT_MS}`, 1)
/** A duration that may be zero: zero turns the feature off. */
export const MillisecondsOrZero = brandedInt<Milliseconds>(`a whole number of milliseconds from 0 to ${MAX_TIMEOUT_MS}`, 0)

/** The brand of {@link FileMode}: only the config's decoding makes one. */
export interface FileModeBrand {
  /** Never there at run time: a type-level mark. */
  readonly FileMode: unique symbol
}
/**
 * The mode of the UNIX socket files (`socketMode`), decoded from its octal string: `"0660"` is 0o660.
 * Branded: only the config's decoding makes one; it is a plain number at run time.
 */
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

/** How many workers a supervisor runs (`workers`): a count from 1 to 1024, or `"auto"` for one per core (`os.availableParallelism()`). */
export type WorkerCount = number | 'auto'
export const MAX_WORKERS = 1024
const WorkerCount = described<WorkerCount>(
  `a whole number of workers from 1 to ${MAX_WORKERS}, or "auto" (one per core)`,
  (u): u is WorkerCount => u === 'auto' || (typeof u === 'number' && Number.isInteger(u) && u >= 1 && u <= MAX_WORKERS),
)

/**
 * Node's module compile cache for the processes a server starts (`compileCache`, decoded): `Default`
 * (`true` in the config: `<tmpdir>/uninterruptible-compile-cache-<uid>`), `Off` (`false`), or `At` the
 * folder `path` (an absolute path in the config).
 */
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

/**
 * Whether TLS clients show certificates (`tls.clientCertificates`): `none` does not ask; `request` asks,
 * and serves a client either way (the handler sees whether its certificate was verified: the
 * `TLSSocket`'s `authorized`); `require` refuses, at the handshake, a client without a certificate that
 * `caPath`'s CA signed.
 */
export type ClientCertificates = 'none' | 'request' | 'require'
export const CLIENT_CERTIFICATES = allOf<ClientCertificates>()(['none', 'request', 'require'])

const oneOf = <K extends string>(keys: readonly K[]) => described(`one of ${keys.join(', ')}`, (u): u is K => keys.some((k) => k === u))

const Path = (what: string) => described(`a path to ${what}`, (u): u is string => typeof u === 'string' && u !== '')

const TLS_FIELDS = {
  certPath: Path('a PEM certificate (chain)'),
  keyPath: Path('a PEM private key'),
  caPath: optional(Path('PEM CA certificates')),
  clientCertificates: optional(oneOf(CLIENT_CERTIFICATES)),
  handshakeTimeoutMs: optional(MillisecondsCodec),
}

const TlsFields = t.type(TLS_FIELDS)

/**
 * The config's `tls` as written in JSON: where the PEM files are (each generation reads them as it
 * starts, so a restart picks up renewed ones), and whether clients show certificates.
 */
export interface TlsConfigJson {
  /** The server's certificate, with its chain, in PEM. */
  readonly certPath: string
  /** The certificate's private key, in PEM. */
  readonly keyPath: string
  /** CA certificates in PEM, to check client certificates against. */
  readonly caPath?: string
  /** Whether clients show certificates; `none` by default. */
  readonly clientCertificates?: ClientCertificates
  /** A handshake not done within this many milliseconds is given up; 10000 by default. */
  readonly handshakeTimeoutMs?: number
}

/** A decoded `tls` as JSON again, its absent keys left out. */
const tlsJsonOf = (v: t.TypeOf<typeof TlsFields>): TlsConfigJson => ({
  certPath: v.certPath,
  keyPath: v.keyPath,
  ...(v.caPath !== undefined ? { caPath: v.caPath } : {}),
  ...(v.clientCertificates !== undefined ? { clientCertificates: v.clientCertificates } : {}),
  ...(v.handshakeTimeoutMs !== undefined ? { handshakeTimeoutMs: v.handshakeTimeoutMs } : {}),
})

/** TLS: where the PEM files are (read by each generation as it starts), and whether clients show certificates. */
const TlsJson = new t.Type<t.TypeOf<typeof TlsFields>, TlsConfigJson>(
  'an object: { "certPath": ..., "keyPath": ..., "caPath"?: ..., "clientCertificates"?: "none" | "request" | "require", "handshakeTimeoutMs"?: ... }',
  (u): u is t.TypeOf<typeof TlsFields> => TlsFields.is(u),
  (u, c) => {
    const unknown = typeof u === 'object' && u !== null ? Object.keys(u).filter((k) => !(k in TLS_FIELDS)) : []
    if (unknown.length > 0) return t.failure(u, c, `${unknown.join(', ')}: not a key of tls; the keys are ${Object.keys(TLS_FIELDS).join(', ')}`)
    return TlsFields.validate(u, c)
  },
  tlsJsonOf,
)

/** The config's `tls`, decoded: {@link TlsConfigJson} with its defaults applied. */
export interface TlsConfig {
  /** The server's certificate, with its chain, in PEM. */
  readonly certPath: string
  /** The certificate's private key, in PEM. */
  readonly keyPath: string
  /** CA certificates in PEM, to check client certificates against. */
  readonly caPath: O.Option<string>
  /** Whether clients show certificates. */
  readonly clientCertificates: ClientCertificates
  /** A handshake not done by then is given up. */
  readonly handshakeTimeoutMs: Milliseconds
}

/** How much the library logs (`logLevel`): pino's levels; `silent` logs nothing. */
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
export const LOG_LEVELS = allOf<LogLevel>()(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'])

// ---- the JSON shape -------------------------------------------------------------------------------

/** Every key but `bind`, which has an environment fallback and is resolved on its own. */
const fields = {
  startCommand: NonEmptyString,
  pidfilePath: NonEmptyString,
  logPath: NonEmptyString,
  logLevel: oneOf(LOG_LEVELS),
  drainTimeoutMs: MillisecondsCodec,
  readyTimeoutMs: MillisecondsCodec,
  restartSignal: oneOf(RESTART_SIGNALS),
  socketMode: FileModeFromString,
  idleGraceMs: MillisecondsCodec,
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

/**
 * The config as written in its JSON file, and as `serve` takes it: every key optional, values as JSON
 * has them (durations in milliseconds as plain numbers, the socket mode as an octal string). Decoding
 * (at start, or `validateConfig`) refuses unknown keys and reports every problem at once; what it gives
 * is a {@link Config}, with the defaults applied.
 */
export interface ConfigJson {
  /**
   * Where to listen: `tcp://host:port`, `tcp://[ipv6]:port` or `unix:///absolute/path`, or a list of them
   * (no address twice). Port 0 picks a free port. Without it, `tcp://0.0.0.0:$PORT` when the `PORT`
   * environment variable is set; otherwise it is required. A restart cannot change it.
   */
  readonly bind?: string | readonly string[]
  /**
   * The command line a restart runs (with `/bin/sh -c`) for the new process or workers. It must end by
   * running node itself (`exec node server.js`): wrappers such as `npm start` close the inherited
   * sockets. By default a restart runs this process's own command line again.
   */
  readonly startCommand?: string
  /**
   * Where to write the pid of the process that acts on signals (the newest standalone generation, or
   * the supervisor); relative to the working directory. `$PID_FILE` by default; none if that is unset.
   */
  readonly pidfilePath?: string
  /** A file to append the JSON log lines to; stdout by default. */
  readonly logPath?: string
  /** How much the library logs; `info` by default. */
  readonly logLevel?: LogLevel
  /** After this long draining, the connections still open are closed and the process exits; by default a drain waits for every connection. */
  readonly drainTimeoutMs?: number
  /** How long a new process (or worker) may take to be ready before it is killed and the restart given up; 10000 by default. */
  readonly readyTimeoutMs?: number
  /** The signal that restarts the server; `SIGUSR1` by default. */
  readonly restartSignal?: RestartSignal
  /** The mode of the UNIX socket files, as an octal string; `"0660"` (owner and group) by default. */
  readonly socketMode?: string
  /**
   * While draining, a connection with nothing left to do is closed after this long (HTTP: a kept-alive
   * connection on which nothing arrives; raw: one whose handler has finished while the client keeps its
   * side open); 1000 by default.
   */
  readonly idleGraceMs?: number
  /**
   * After a new process or generation is ready, the old one keeps serving beside it this long, and new
   * code that dies meanwhile leaves the old one serving as before; `0` hands over at once. 1000 by default.
   */
  readonly probationMs?: number
  /**
   * Supervised mode: a supervisor owns the sockets and runs this many workers (`"auto"`: one per core).
   * Without it, the server runs standalone. A restart cannot add or remove it.
   */
  readonly workers?: WorkerCount
  /**
   * The absolute path of the control socket (mode 0600) that `uninterruptible restart`, `status` and
   * `stop`, and `restartServer`, `serverStatus` and `stopServer`, talk to; none by default.
   */
  readonly controlPath?: string
  /** Serve TLS; plain TCP by default. */
  readonly tls?: TlsConfigJson
  /**
   * CIDRs (IPv4 or IPv6, or single addresses): a TCP client from elsewhere is closed at once. UNIX
   * sockets are not checked. By default every client is served.
   */
  readonly allowedNetworks?: readonly string[]
  /**
   * Node's module compile cache for the processes a restart starts (Node 22.1 and later): `true` (a
   * folder of the library's: the default), `false`, or the absolute path of a folder only this user may
   * write.
   */
  readonly compileCache?: boolean | string
}

const ConfigJsonCodec = withJsonType<ConfigJson>()(t.partial({ bind: BindJson, ...fields }))
export const CONFIG_KEYS: readonly (keyof ConfigJson)[] = Object.keys(ConfigJsonCodec.props).filter((k): k is keyof ConfigJson => k in ConfigJsonCodec.props)

// ---- the decoded config ---------------------------------------------------------------------------

/**
 * A config as decoded and checked: what `validateConfig` gives and what a server runs with. Every
 * default is applied and every value checked (durations are {@link Milliseconds}); a key that has no
 * default and was not given is `none`. The keys mean what they mean in {@link ConfigJson}.
 */
export interface Config {
  /** Every address to listen on, in the order given; no two the same. */
  readonly binds: Binds
  /** The command line a restart runs with `sh -c`; `none`: it re-runs this process's own command line. */
  readonly startCommand: O.Option<string>
  /** Where the pid of the process that acts on signals is written (`$PID_FILE` when the config sets none); `none`: nowhere. */
  readonly pidfilePath: O.Option<string>
  /** The file the JSON log lines are appended to; `none`: stdout. */
  readonly logPath: O.Option<string>
  /** How much the library logs. */
  readonly logLevel: LogLevel
  /** How long a drain may take before the connections still open are closed; `none`: no limit. */
  readonly drainTimeoutMs: O.Option<Milliseconds>
  /** How long a new process (or worker) may take to be ready. */
  readonly readyTimeoutMs: Milliseconds
  /** The signal that restarts the server. */
  readonly restartSignal: RestartSignal
  /** The mode of the UNIX socket files. */
  readonly socketMode: FileMode
  /** While draining, a connection with nothing left to do (HTTP: idle; raw: handler done, client half-open) is closed after this long. */
  readonly idleGraceMs: Milliseconds
  /**
   * After a new process (or generation) is ready, the old one keeps serving this long; a new one that dies
   * meanwhile leaves the old one serving as before. 0: no probation.
   */
  readonly probationMs: Milliseconds
  /** Set: the first process supervises this many workers; `none`: it serves itself (standalone). */
  readonly workers: O.Option<WorkerCount>
  /** Where the server listens for control requests (restart, status, stop); `none`: it does not. */
  readonly controlPath: O.Option<string>
  /** TLS settings; `none`: plain TCP. */
  readonly tls: O.Option<TlsConfig>
  /** Only TCP clients from these networks are served; `none`: every client is. */
  readonly allowedNetworks: O.Option<readonly Cidr[]>
  /** Node's compile cache in the processes this server starts (Node 22.1 and later), to start them faster. */
  readonly compileCache: CompileCache
}

export const DEFAULTS = {
  logLevel: 'info',
  readyTimeoutMs: checked(MillisecondsCodec, 10_000),
  restartSignal: 'SIGUSR1',
  socketMode: checked(FileModeFromString, '0660'),
  idleGraceMs: checked(MillisecondsCodec, 1_000),
  probationMs: checked(MillisecondsCodec, 1_000),
  handshakeTimeoutMs: checked(MillisecondsCodec, 10_000),
} as const

// ---- errors ---------------------------------------------------------------------------------------

/** One thing wrong with a config: the key (`bind`, `bind.1`, `tls.certPath`) and what was expected. */
export type ConfigProblem = Problem

/**
 * The config's values are wrong (`InvalidConfig`): every problem at once, each naming its key and what
 * was expected; nothing was bound or written.
 *
 * @remarks
 * Fix each key named (an unknown key is one too: a typo never falls back to a default) and start again.
 * At a restart the old process serves on.
 */
export interface ConfigError {
  /** Tags this error in `ConfigValidationError` and `ServeError`. */
  readonly _tag: 'InvalidConfig'
  /** Every problem found: at least one. */
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
