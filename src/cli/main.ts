/**
 * The `uninterruptible` command: asks a running server, through its control socket, to restart (and
 * waits for the outcome), for its status, or to stop (and waits until everything has exited); checks a
 * config before a deploy uses it.
 *
 *   uninterruptible restart CONFIG      exit 0: the new generation serves; 1: it failed, the old one serves on
 *   uninterruptible status CONFIG [--json]
 *   uninterruptible stop CONFIG         returns once every process of the server has exited
 *   uninterruptible check CONFIG [--json]   exit 0: a start or restart has what it needs; 1: every problem listed
 *   (--control PATH instead of CONFIG; --timeout MS)   exit 2: no server answers, or a usage error
 */
import fs = require('node:fs')
import path = require('node:path')
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import { formatBind } from '../core/bind'
import { fieldOf } from '../core/codec'
import type { Config } from '../core/config'
import { checkConfig } from '../modes/check'
import type { Op, OutcomeJson, Status } from '../core/wire/control'
import { checkNodeVersion, describeUnsupportedNode } from '../core/nodeVersion'
import { type ControlError, describeControlError } from '../shell/control/client'
import { type ControlOptions, type ControlTarget, restartServerTask, serverStatusTask, stopServerTask } from '../shell/control/operations'

const USAGE = `usage: uninterruptible restart|status|stop (CONFIG | --control PATH) [--json] [--timeout MS]
       uninterruptible check CONFIG [--json]
       uninterruptible run [--config FILE] [--bind ADDR]... [--workers N|auto] [config keys as flags] -- node app.js
       uninterruptible --help | --version | run --help
  restart   restart the server and wait: exit 0 once the new generation serves, 1 when it failed (the old one serves on)
  status    pid, generation, state, connections, uptime, the last restart, and the workers of a supervisor
  stop      drain and stop the server; returns once every one of its processes has exited
  run       run an unchanged app (one that calls listen() itself) with zero-downtime restarts: this process
            supervises workers that run the command after --; \`run --help\` lists the flags
  check     check a config without touching a running server: the config itself, the TLS files, the folders
            of the files the server writes, the TCP hosts, startCommand's program; exit 0 when a start or a
            restart has what it needs, 1 with every problem listed
  CONFIG    the server's JSON config file (its controlPath is used); --control PATH names the socket itself
  exit 2    no server answers, or the command line is wrong`

/** The package's version, from the package.json beside the command (dist/lib/cli.js: two folders up). */
const version = (): string => {
  try {
    const pkg: unknown = JSON.parse(fs.readFileSync(path.join(__dirname, '../../package.json'), 'utf8'))
    const v = fieldOf(pkg, 'version')
    return typeof v === 'string' ? v : 'unknown'
  } catch {
    return 'unknown'
  }
}

const out = (s: string): void => {
  fs.writeSync(1, `${s}\n`)
}
const err = (s: string): void => {
  fs.writeSync(2, `${s}\n`)
}

type Args =
  | { readonly op: Op; readonly target: ControlTarget; readonly json: boolean; readonly options: ControlOptions }
  | { readonly op: 'check'; readonly file: string; readonly json: boolean }
  | { readonly op: 'run'; readonly argv: readonly string[] }
  | { readonly op: 'help' }
  | { readonly op: 'version' }

const parse = (argv: readonly string[]): E.Either<string, Args> => {
  const [op, ...rest] = argv
  if (op === 'help' || op === '--help' || op === '-h') return E.right({ op: 'help' })
  if (op === '--version' || op === '-v' || op === 'version') return E.right({ op: 'version' })
  if (op === 'run') return E.right({ op, argv: rest })
  if (op === 'check') {
    const files = rest.filter((a) => a !== '--json')
    const unknown = files.find((a) => a.startsWith('-'))
    if (unknown !== undefined) return E.left(`unknown option ${unknown}`)
    if (files.length !== 1 || files[0] === undefined) return E.left('check takes one CONFIG file')
    return E.right({ op, file: files[0], json: rest.includes('--json') })
  }
  if (op !== 'restart' && op !== 'status' && op !== 'stop') return E.left(op === undefined ? 'no command given' : `unknown command ${JSON.stringify(op)}`)
  let target: ControlTarget | undefined
  let json = false
  let timeoutMs: number | undefined
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i] ?? ''
    if (a === '--json') json = true
    else if (a === '--control' || a === '--timeout') {
      const value = rest[++i]
      if (value === undefined) return E.left(`${a} needs a value`)
      if (a === '--control') target = { controlPath: value }
      else if (/^\d+$/.test(value) && Number(value) > 0) timeoutMs = Number(value)
      else return E.left(`--timeout takes a number of milliseconds, not ${JSON.stringify(value)}`)
    } else if (a.startsWith('-')) return E.left(`unknown option ${a}`)
    else if (target === undefined) target = a
    else return E.left(`one CONFIG only (got ${JSON.stringify(a)} too)`)
  }
  if (target === undefined) return E.left('give the server\'s CONFIG file, or --control PATH')
  return E.right({ op, target, json, options: timeoutMs !== undefined ? { timeoutMs } : {} })
}

const describeOutcome = (o: OutcomeJson): string => {
  switch (o.result) {
    case 'restarted':
      return `restarted: generation ${o.generation} serves (pid${o.pids.length === 1 ? '' : 's'} ${o.pids.join(', ')})`
    case 'failed': {
      const details = o.failure === null ? '' : `\n  ${Object.entries(o.failure).map(([k, v]) => `${k}: ${JSON.stringify(v)}`).join(', ')}`
      // a restart a stop cut short says so in its reason: nothing serves on
      return `restart failed: generation ${o.generation}: ${o.reason}${o.stopping ? '' : '; the old generation serves on'}${details}`
    }
    case 'refused':
      return `restart refused: ${o.reason}`
  }
}

const duration = (ms: number): string => {
  const s = Math.floor(ms / 1000)
  const parts = [[Math.floor(s / 86400), 'd'], [Math.floor((s % 86400) / 3600), 'h'], [Math.floor((s % 3600) / 60), 'm'], [s % 60, 's']] as const
  const shown = parts.filter(([n], i) => n > 0 || i === parts.length - 1)
  return shown.map(([n, u]) => `${n}${u}`).join(' ')
}

const table = (rows: readonly (readonly string[])[]): string[] => {
  const widths = rows.reduce<number[]>((w, r) => r.map((c, i) => Math.max(w[i] ?? 0, c.length)), [])
  return rows.map((r) => r.map((c, i) => c.padEnd(widths[i] ?? 0)).join('  ').trimEnd())
}

const describeStatus = (s: Status): string => {
  const lines = table([
    ['pid', `${s.pid} (${s.mode})`],
    ['generation', String(s.generation)],
    ['state', s.state],
    ['connections', `${s.connections.active} active, ${s.connections.accepted} accepted`],
    ['uptime', duration(s.uptimeMs)],
    ['last restart', s.lastRestart === null ? 'none' : describeOutcome(s.lastRestart)],
  ])
  if (s.workers !== undefined) {
    lines.push('workers:')
    const rows = table([
      ['worker', 'pid', 'generation', 'state', 'active', 'accepted'],
      ...s.workers.map((w) => [String(w.worker), String(w.pid ?? '-'), String(w.generation), w.state, String(w.connections?.active ?? '-'), String(w.connections?.accepted ?? '-')]),
    ])
    lines.push(...rows.map((r) => `  ${r}`))
  }
  return lines.join('\n')
}

/**
 * `run`: the library itself (dist/lib/run.js), loaded only for this command; the process then is the
 * supervisor, and exits when it is done. A command line or config that will not do: its exit code.
 */
const runCommand = (argv: readonly string[]): Promise<number> => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the library, loaded only for this command
  const run = require('./run.js')
  if (argv.includes('--help') && argv.indexOf('--help') < (argv.includes('--') ? argv.indexOf('--') : Infinity)) {
    out(run.RUN_USAGE)
    return Promise.resolve(0)
  }
  const code = run.main(argv)
  return code >= 0 ? Promise.resolve(code) : new Promise<number>(() => undefined)
}

/** `check`: 0 when all is well, 1 with every problem. */
const check = async (file: string, json: boolean): Promise<number> => {
  const report = await checkConfig(file)()
  const ok = report.problems.length === 0
  if (json) out(JSON.stringify({ file, ok, problems: report.problems }))
  else if (ok) out(`${file}: ok${O.isSome(report.config) ? ` (${summaryOf(report.config.value)})` : ''}`)
  else err(`${file}: ${report.problems.length} problem${report.problems.length === 1 ? '' : 's'}:\n${report.problems.map((p) => `  - ${p.key}: ${p.message}`).join('\n')}`)
  return ok ? 0 : 1
}

const summaryOf = (c: Config): string =>
  `${O.isSome(c.workers) ? `supervised, ${String(c.workers.value)} worker(s)` : 'standalone'}; ${c.binds.map(formatBind).join(', ')}${O.isSome(c.controlPath) ? `; control ${c.controlPath.value}` : ''}`

/** Exit 2 for "no server"; a server that refused a stop (busy) is 1. */
const fail = (e: ControlError): number => {
  err(`uninterruptible: ${describeControlError(e)}`)
  return e._tag === 'NoServer' || e._tag === 'NoControlPath' ? 2 : 1
}

const main = async (argv: readonly string[]): Promise<number> => {
  const unsupported = checkNodeVersion(process.version)
  if (unsupported !== undefined) {
    err(`uninterruptible: ${describeUnsupportedNode(unsupported)}`)
    return 2
  }
  const args = parse(argv)
  if (E.isLeft(args)) {
    err(`uninterruptible: ${args.left}\n${USAGE}`)
    return 2
  }
  const a = args.right
  if (a.op === 'run') return runCommand(a.argv)
  if (a.op === 'help') {
    out(USAGE)
    return 0
  }
  if (a.op === 'version') {
    out(version())
    return 0
  }
  if (a.op === 'check') return check(a.file, a.json)
  const { op, target, json, options } = a
  switch (op) {
    case 'restart': {
      const r = await restartServerTask(target, options)()
      if (E.isLeft(r)) return fail(r.left)
      if (json) out(JSON.stringify(r.right))
      else (r.right.result === 'restarted' ? out : err)(describeOutcome(r.right))
      return r.right.result === 'restarted' ? 0 : 1
    }
    case 'status': {
      const r = await serverStatusTask(target, options)()
      if (E.isLeft(r)) return fail(r.left)
      out(json ? JSON.stringify(r.right) : describeStatus(r.right))
      return 0
    }
    case 'stop': {
      const r = await stopServerTask(target, options)()
      if (E.isLeft(r)) return fail(r.left)
      out(json ? JSON.stringify({ stopped: r.right.pids }) : `stopped: pid${r.right.pids.length === 1 ? '' : 's'} ${r.right.pids.join(', ')} exited`)
      return 0
    }
  }
}

void main(process.argv.slice(2)).then((code) => process.exit(code))
