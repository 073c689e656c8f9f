/**
 * The command line of `uninterruptible run`: config keys as flags, an optional config file, and the
 * application's command after `--`. Flags override the file; both go through the config codec, and a
 * problem with a value that came from a flag is named by the flag. Pure.
 */
import * as E from 'fp-ts/Either'
import * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import type { ConfigProblem } from './config'

/** A flag, the config key it sets, and how its text becomes the key's JSON value. */
interface Flag {
  readonly flag: string
  /** The key's path in the config (`tls.certPath`). */
  readonly key: string
  readonly value: 'string' | 'number' | 'workers' | 'compileCache'
  /** Given several times, the values make a list. */
  readonly repeats?: true
}

export const RUN_FLAGS: readonly Flag[] = [
  { flag: '--bind', key: 'bind', value: 'string', repeats: true },
  { flag: '--workers', key: 'workers', value: 'workers' },
  { flag: '--pidfile', key: 'pidfilePath', value: 'string' },
  { flag: '--control', key: 'controlPath', value: 'string' },
  { flag: '--log-path', key: 'logPath', value: 'string' },
  { flag: '--log-level', key: 'logLevel', value: 'string' },
  { flag: '--drain-timeout-ms', key: 'drainTimeoutMs', value: 'number' },
  { flag: '--ready-timeout-ms', key: 'readyTimeoutMs', value: 'number' },
  { flag: '--probation-ms', key: 'probationMs', value: 'number' },
  { flag: '--restart-signal', key: 'restartSignal', value: 'string' },
  { flag: '--socket-mode', key: 'socketMode', value: 'string' },
  { flag: '--idle-grace-ms', key: 'idleGraceMs', value: 'number' },
  { flag: '--allowed-network', key: 'allowedNetworks', value: 'string', repeats: true },
  { flag: '--compile-cache', key: 'compileCache', value: 'compileCache' },
  { flag: '--tls-cert', key: 'tls.certPath', value: 'string' },
  { flag: '--tls-key', key: 'tls.keyPath', value: 'string' },
  { flag: '--tls-ca', key: 'tls.caPath', value: 'string' },
  { flag: '--tls-client-certificates', key: 'tls.clientCertificates', value: 'string' },
  { flag: '--tls-handshake-timeout-ms', key: 'tls.handshakeTimeoutMs', value: 'number' },
]

export interface RunArgs {
  /** The config file given with --config, if any. */
  readonly configFile: string | undefined
  /** The config keys the flags set, as JSON values (`tls.*` nested). */
  readonly flags: Readonly<Record<string, unknown>>
  /** The application's command line: the program (node) and its arguments. */
  readonly command: readonly [string, ...string[]]
}

/** A number when the text is one (the codec then checks the range), else the text (the codec names it). */
const asNumber = (text: string): number | string => (/^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text)

const toValue = (f: Flag, text: string): unknown => {
  switch (f.value) {
    case 'string':
      return text
    case 'number':
      return asNumber(text)
    case 'workers':
      return text === 'auto' ? text : asNumber(text)
    case 'compileCache':
      return text === 'true' ? true : text === 'false' ? false : text
  }
}

const setPath = (into: Record<string, unknown>, key: string, value: unknown): void => {
  const [head, tail] = key.split('.', 2) as [string, string | undefined]
  if (tail === undefined) {
    into[head] = value
    return
  }
  const inner = (typeof into[head] === 'object' && into[head] !== null ? into[head] : {}) as Record<string, unknown>
  inner[tail] = value
  into[head] = inner
}

export const RUN_USAGE = `usage: uninterruptible run [--config FILE] [--bind ADDR]... [--workers N|auto] [--pidfile PATH] [--control PATH]
                         [other config keys as flags] -- node [node flags] app.js [args]
  Runs an unchanged app (one that calls listen() itself) with zero-downtime restarts: this process is
  the supervisor; each worker runs the command after --, and its listen() calls on the configured
  addresses are served by the sockets the supervisor holds. Flags (they override --config's file):
${RUN_FLAGS.map((f) => `    ${f.flag.padEnd(28)} ${f.key}${f.repeats === true ? ' (repeat for a list)' : ''}`).join('\n')}`

/** Reads `run`'s arguments (after the word `run`). */
export const parseRunArgs = (argv: readonly string[]): E.Either<string, RunArgs> => {
  const dash = argv.indexOf('--')
  if (dash < 0) return E.left('run needs the application\'s command after --, e.g. run --bind tcp://127.0.0.1:3000 -- node app.js')
  const [program, ...rest] = argv.slice(dash + 1)
  if (program === undefined) return E.left('run needs a command after --')
  const flags: Record<string, unknown> = {}
  let configFile: string | undefined
  const options = argv.slice(0, dash)
  for (let i = 0; i < options.length; i++) {
    const arg = options[i] ?? ''
    const eq = arg.indexOf('=')
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined
    const value = inline ?? options[i + 1]
    if (name === '--config') {
      if (value === undefined) return E.left('--config needs a file')
      configFile = value
      if (inline === undefined) i++
      continue
    }
    const f = RUN_FLAGS.find((x) => x.flag === name)
    if (f === undefined) return E.left(name.startsWith('-') ? `unknown option ${name} (run --help lists them)` : `unexpected ${JSON.stringify(name)} before --: the application's command goes after --`)
    if (value === undefined) return E.left(`${name} needs a value`)
    if (inline === undefined) i++
    const v = toValue(f, value)
    if (f.repeats === true) {
      const before = flags[f.key]
      setPath(flags, f.key, Array.isArray(before) ? [...(before as unknown[]), v] : [v])
    } else setPath(flags, f.key, v)
  }
  // one --bind stays a plain address, as in a config file
  if (Array.isArray(flags.bind) && flags.bind.length === 1) flags.bind = flags.bind[0]
  return E.right({ configFile, flags, command: [program, ...rest] })
}

/** The config a `run` server uses: the file's keys, overridden by the flags (`tls` merged key by key). A supervisor: `workers` is 1 unless set. */
export const mergeRunConfig = (file: Readonly<Record<string, unknown>>, flags: Readonly<Record<string, unknown>>): Record<string, unknown> => {
  const merged: Record<string, unknown> = { ...file, ...flags }
  const fileTls = file.tls
  const flagTls = flags.tls
  if (typeof fileTls === 'object' && fileTls !== null && typeof flagTls === 'object' && flagTls !== null) merged.tls = { ...fileTls, ...flagTls }
  merged.workers ??= 1
  return merged
}

/** A problem with a value a flag set names the flag too: `drainTimeoutMs (--drain-timeout-ms): got ...`. */
export const nameFlags = (problems: RNEA.ReadonlyNonEmptyArray<ConfigProblem>, flags: Readonly<Record<string, unknown>>): RNEA.ReadonlyNonEmptyArray<ConfigProblem> =>
  RNEA.map((p: ConfigProblem) => {
    const f = RUN_FLAGS.find((x) => p.key === x.key || p.key.startsWith(`${x.key}.`))
    const set = f !== undefined && (f.key.includes('.') ? (flags.tls as Record<string, unknown> | undefined)?.[f.key.split('.')[1] ?? ''] !== undefined : flags[f.key] !== undefined)
    return f !== undefined && set ? { key: `${p.key} (${f.flag})`, message: p.message } : p
  })(problems)

/** What a `run` supervisor tells each worker (the app adapter, src/app.ts) of its config: the file, and the flags over it. */
export const RUN_ENV = 'UNINTERRUPTIBLE_RUN'

export interface RunEnv {
  /** The config file (absolute), re-read by each worker as it starts; `null`: flags only. */
  readonly configFile: string | null
  readonly flags: Readonly<Record<string, unknown>>
}

export const writeRunEnv = (r: RunEnv): string => JSON.stringify(r)

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)

/** The variable as the supervisor wrote it; Left: what is wrong with it. */
export const readRunEnv = (raw: string): E.Either<string, RunEnv> => {
  let u: unknown
  try {
    u = JSON.parse(raw)
  } catch (err) {
    return E.left(`not JSON: ${err instanceof Error ? err.message : String(err)}`)
  }
  if (!isRecord(u)) return E.left('not a JSON object')
  const { configFile, flags } = u
  if (configFile !== null && typeof configFile !== 'string') return E.left('configFile: expected a path or null')
  if (!isRecord(flags)) return E.left('flags: expected an object')
  return E.right({ configFile, flags })
}

/** The config a worker serves: the file's JSON (an object, else the codec says what it got) with the flags over it. */
export const runConfigJson = (file: unknown, flags: Readonly<Record<string, unknown>>): unknown => (isRecord(file) ? mergeRunConfig(file, flags) : file)
