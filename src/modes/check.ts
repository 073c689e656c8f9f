/**
 * Check: what a start or a restart would need, without binding anything or touching a running server
 * (`uninterruptible check CONFIG`, the `nginx -t` of this package). The config is decoded as `serve` does;
 * then the TLS files are read and matched, the folders of every file the server writes must exist and be
 * writable, each TCP host must resolve, and `startCommand`'s program must exist. Every problem is
 * collected, each naming its config key.
 */
import { spawnSync } from 'node:child_process'
import fs = require('node:fs')
import path = require('node:path')
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import type * as T from 'fp-ts/Task'
import { formatBind } from '../core/bind'
import type { Config } from '../core/config'
import type { Problem } from '../core/codec'
import { describeConfigSourceError, loadConfigFile } from '../shell/configSource'
import { loadDns } from '../shell/os/lazy'
import { loadTlsSettings } from '../shell/protocol/tls'
import { messageOf, toErrno } from '../shell/os/errno'

export interface CheckReport {
  /** The config file checked. */
  readonly file: string
  /** Decoded, when it could be. */
  readonly config: O.Option<Config>
  readonly problems: readonly Problem[]
}

/** The folder of `file` exists, is a folder, and this user may create files in it. */
const writableFolder = (key: string, file: string): Problem[] => {
  const dir = path.dirname(path.resolve(file))
  const st = fs.statSync(dir, { throwIfNoEntry: false })
  if (st === undefined) return [{ key, message: `the folder ${dir} does not exist; create it first` }]
  if (!st.isDirectory()) return [{ key, message: `${dir} is not a folder` }]
  try {
    fs.accessSync(dir, fs.constants.W_OK | fs.constants.X_OK)
    return []
  } catch {
    return [{ key, message: `this user may not create files in ${dir}` }]
  }
}

/** Each file the config names must be readable; if all are, they must make a TLS context (PEM, key matching the certificate). */
const tlsProblems = (c: Config): Problem[] => {
  if (O.isNone(c.tls)) return []
  const t = c.tls.value
  const files: readonly (readonly [string, string])[] = [['tls.certPath', t.certPath], ['tls.keyPath', t.keyPath], ...(O.isSome(t.caPath) ? [['tls.caPath', t.caPath.value] as const] : [])]
  const unreadable = files.flatMap(([key, file]): Problem[] => {
    try {
      fs.accessSync(file, fs.constants.R_OK)
      return fs.statSync(file).isFile() ? [] : [{ key, message: `${file} is not a file` }]
    } catch (err) {
      return [{ key, message: `cannot read ${file}: ${toErrno(err).code === 'ENOENT' ? 'the file does not exist' : messageOf(err)}` }]
    }
  })
  if (unreadable.length > 0) return unreadable
  const loaded = loadTlsSettings(t)
  return E.isLeft(loaded) ? [{ key: loaded.left.key, message: `${loaded.left.file}: ${loaded.left.reason}` }] : []
}

const pathProblems = (c: Config): Problem[] => [
  ...c.binds.flatMap((b, i) => (b._tag === 'Unix' ? writableFolder(c.binds.length > 1 ? `bind.${i}` : 'bind', b.path) : [])),
  ...O.fold(() => [], (p: string) => writableFolder('pidfilePath', p))(c.pidfilePath),
  ...O.fold(() => [], (p: string) => writableFolder('controlPath', p))(c.controlPath),
  ...O.fold(() => [], (p: string) => writableFolder('logPath', p))(c.logPath),
]

const hostProblems = async (c: Config): Promise<Problem[]> => {
  const lookups = c.binds.map(async (b, i): Promise<Problem[]> => {
    if (b._tag !== 'Tcp') return []
    try {
      await loadDns().lookup(b.host)
      return []
    } catch (err) {
      return [{ key: c.binds.length > 1 ? `bind.${i}` : 'bind', message: `the host of ${formatBind(b)} does not resolve: ${toErrno(err).code ?? messageOf(err)}` }]
    }
  })
  return (await Promise.all(lookups)).flat()
}

/** The word `sh -c` runs first, past variable assignments and `exec`. */
export const programOf = (command: string): string | undefined =>
  command
    .trim()
    .split(/\s+/)
    .find((word) => !/^[A-Za-z_][A-Za-z0-9_]*=/.test(word) && word !== 'exec')

/** `startCommand`'s program, as the shell a restart runs it with would find it (a builtin counts). */
const commandProblems = (c: Config): Problem[] => {
  if (O.isNone(c.startCommand)) return []
  const syntax = spawnSync('/bin/sh', ['-n', '-c', c.startCommand.value], { encoding: 'utf8' })
  if (syntax.status !== 0) return [{ key: 'startCommand', message: `/bin/sh cannot parse it: ${syntax.stderr.trim()}` }]
  const program = programOf(c.startCommand.value)
  if (program === undefined) return [{ key: 'startCommand', message: 'it runs nothing' }]
  const found = spawnSync('/bin/sh', ['-c', 'command -v -- "$1"', 'sh', program], { encoding: 'utf8' })
  return found.status === 0 ? [] : [{ key: 'startCommand', message: `its program ${program} is not found (not a file, not in PATH, not a shell builtin)` }]
}

/** Checks the config at `file`; never fails: what is wrong is in the report. */
export const checkConfig =
  (file: string, env: NodeJS.ProcessEnv = process.env): T.Task<CheckReport> =>
  async () => {
    const decoded = loadConfigFile(file, env)
    if (E.isLeft(decoded)) {
      const e = decoded.left
      const problems = e._tag === 'InvalidConfig' ? e.problems : [{ key: '(file)', message: describeConfigSourceError(e) }]
      return { file, config: O.none, problems }
    }
    const c = decoded.right
    const problems = [...tlsProblems(c), ...pathProblems(c), ...(await hostProblems(c)), ...commandProblems(c)]
    return { file, config: O.some(c), problems }
  }
