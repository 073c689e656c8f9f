/**
 * Measure 7 (issue 11): what the confirming restart command costs. On idle echo servers with a control
 * socket, interleaved, N samples each: the wall time from spawning `node cli.js restart CONFIG` to its
 * exit (it exits once the new generation serves, which includes the probation), against the bare
 * handoff, SIGUSR1 to the old process's `successor-ready` (section 3's "whole handoff", timed the same
 * way, from its log). One server has `probationMs: 0`, another `probationMs: 1000` (the default, set
 * explicitly), so the probation can be told apart from the rest. Each command's timeline is cut at the
 * server's log lines: the command's start-up and connect (spawn to `control-request`), the handoff
 * (`restart-requested` to ready), the probation (ready to `handed-over`) and the reply and exit. The
 * command's start-up alone is timed too (`node cli.js` printing its usage), with a bare `node -e 0`.
 * Standalone, and supervised with `workers: 2` (there the events are the supervisor's
 * `generation-ready` and `generation-replaced`).
 */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { performance } from 'node:perf_hooks'
import { DIST, type LogLine, readPid, ServerProcess, tempDir, waitGone, writeJson } from '../test/support/harness'

const CLI = path.join(DIST, 'lib/cli.js')
export const PROBATION_MS = 1000
const WORKERS = 2

/** One `restart` command, cut at the server's log lines (ms; log times are the wall clock, to the ms). */
export interface CommandSample {
  /** Spawning the command to its exit (performance.now). */
  readonly wallMs: number
  /** Spawn to the server's `control-request` line: node start-up, loading the command, connecting. */
  readonly requestMs: number
  /** `control-request` to `restart-requested`. */
  readonly dispatchMs: number
  /** `restart-requested` to ready (`successor-ready`, or the supervisor's `generation-ready`). */
  readonly handoffMs: number
  /** Ready to `handed-over` (or `generation-replaced`): the probation. */
  readonly probationMs: number
  /** `handed-over` to the command's exit: the reply, and the command printing it and exiting. */
  readonly replyMs: number
}

export interface ModeResult {
  /** SIGUSR1 handoff, `restart-requested` to ready, from the log (section 3's measure). */
  readonly bareMs: readonly number[]
  /** The same handoff as this process sees it: sending SIGUSR1 to reading the ready line. */
  readonly bareWallMs: readonly number[]
  readonly probation0: readonly CommandSample[]
  readonly probationDefault: readonly CommandSample[]
}

export interface CommandBench {
  readonly standalone: ModeResult
  readonly supervised: ModeResult
  /** `node cli.js` (no arguments: it prints its usage and exits 2), spawn to exit. */
  readonly startupMs: readonly number[]
  /** `node -e 0`, spawn to exit. */
  readonly nodeMs: readonly number[]
}

interface Exit {
  readonly code: number | null
  readonly ms: number
  /** Date.now() at spawn and at exit, to set against log times. */
  readonly spawnedAt: number
  readonly exitedAt: number
  readonly stdout: string
  readonly stderr: string
}

/** Spawns node with `args` and times it to its exit. */
const timed = (args: readonly string[]): Promise<Exit> =>
  new Promise((resolve, reject) => {
    const spawnedAt = Date.now()
    const t0 = performance.now()
    const child = spawn(process.execPath, args, { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    let exit: { code: number | null; ms: number; exitedAt: number } | undefined
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.once('error', reject)
    child.once('exit', (code) => (exit = { code, ms: performance.now() - t0, exitedAt: Date.now() }))
    child.once('close', () => {
      if (exit === undefined) reject(new Error(`node ${args.join(' ')}: closed without an exit`))
      else resolve({ ...exit, spawnedAt, stdout, stderr })
    })
  })

/** How a mode's restarts show in its log. */
interface Mode {
  readonly ready: string
  readonly done: string
  /** The process that logs the restart: the current generation (standalone) or the supervisor. */
  readonly restarter: () => number
  /** Lines of this restart: logged by `pid` (and, supervised, about `generation`). */
  readonly about: (l: LogLine, pid: number, generation: number) => boolean
  /** Waits until the replaced generation has exited, so that every sample starts from an idle server. */
  readonly settle: (pid: number, generation: number) => Promise<void>
}

interface Server {
  readonly dir: string
  readonly config: string
  readonly server: ServerProcess
  readonly mode: Mode
  generation: number
}

const startServer = async (supervised: boolean, probationMs: number): Promise<Server> => {
  const dir = tempDir()
  const pidfile = path.join(dir, 'echo.pid')
  const config = writeJson(path.join(dir, 'echo.json'), {
    bind: 'tcp://127.0.0.1:0',
    pidfilePath: pidfile,
    controlPath: path.join(dir, 'control.sock'),
    probationMs,
    readyTimeoutMs: 60_000,
    ...(supervised ? { workers: WORKERS } : {}),
  })
  const server = ServerProcess.echo(config)
  const mode: Mode = supervised
    ? {
        ready: 'generation-ready',
        done: 'generation-replaced',
        restarter: () => server.pid,
        about: (l, pid, generation) => l.pid === pid && (l.event === 'control-request' || l.generation === generation),
        settle: async (pid, generation) => {
          for (let worker = 0; worker < WORKERS; worker++) {
            await server.waitFor((l) => l.pid === pid && l.event === 'worker-exited' && l.generation === generation - 1 && l.worker === worker, `worker ${worker} of generation ${generation - 1} to exit`)
          }
        },
      }
    : {
        ready: 'successor-ready',
        done: 'handed-over',
        restarter: () => readPid(pidfile),
        about: (l, pid) => l.pid === pid,
        settle: async (pid) => {
          const ready = await server.event(pid, 'successor-ready')
          await server.event(Number(ready.successorPid), 'listening')
          await server.event(pid, 'exit')
          await waitGone(pid)
        },
      }
  try {
    await server.event(server.pid, 'listening')
    return { dir, config, server, mode, generation: 1 }
  } catch (e) {
    server.killAll()
    fs.rmSync(dir, { recursive: true, force: true })
    throw e
  }
}

const stopServer = async (s: Server): Promise<void> => {
  try {
    const pid = s.mode.restarter()
    process.kill(pid, 'SIGTERM')
    await s.server.event(pid, 'exit')
    await waitGone(pid)
  } finally {
    s.server.killAll()
    fs.rmSync(s.dir, { recursive: true, force: true })
  }
}

/** The first line from `from` on that is about this restart and is `event`. */
const lineOf = (s: Server, from: number, pid: number, generation: number, event: string): Promise<LogLine> =>
  s.server.waitFor((l) => l.event === event && s.mode.about(l, pid, generation) && s.server.lines.indexOf(l) >= from, `${event} of generation ${generation}`)

/** SIGUSR1 to the ready line: from the log (as section 3), and as this process sees it. */
const bareRestart = async (s: Server): Promise<{ logMs: number; wallMs: number }> => {
  const pid = s.mode.restarter()
  const generation = ++s.generation
  const from = s.server.lines.length
  const t0 = performance.now()
  process.kill(pid, 'SIGUSR1')
  const ready = await lineOf(s, from, pid, generation, s.mode.ready)
  const wallMs = performance.now() - t0
  const requested = await lineOf(s, from, pid, generation, 'restart-requested')
  await s.mode.settle(pid, generation)
  return { logMs: ready.time - requested.time, wallMs }
}

/** `node cli.js restart CONFIG`, timed and cut at the server's lines. */
const commandRestart = async (s: Server): Promise<CommandSample> => {
  const pid = s.mode.restarter()
  const generation = ++s.generation
  const from = s.server.lines.length
  const r = await timed([CLI, 'restart', s.config])
  if (r.code !== 0 || !r.stdout.startsWith(`restarted: generation ${generation} serves`)) {
    throw new Error(`restart command: exit ${String(r.code)}, stdout ${JSON.stringify(r.stdout)}, stderr ${JSON.stringify(r.stderr)}`)
  }
  const [request, requested, ready, done] = await Promise.all(
    ['control-request', 'restart-requested', s.mode.ready, s.mode.done].map((event) => lineOf(s, from, pid, generation, event)),
  )
  if (request === undefined || requested === undefined || ready === undefined || done === undefined) throw new Error('missing log lines')
  await s.mode.settle(pid, generation)
  return {
    wallMs: r.ms,
    requestMs: request.time - r.spawnedAt,
    dispatchMs: requested.time - request.time,
    handoffMs: ready.time - requested.time,
    probationMs: done.time - ready.time,
    replyMs: r.exitedAt - done.time,
  }
}

interface Pair {
  readonly probation0: Server
  readonly probationDefault: Server
}

const emptyMode = (): { bareMs: number[]; bareWallMs: number[]; probation0: CommandSample[]; probationDefault: CommandSample[] } => ({
  bareMs: [],
  bareWallMs: [],
  probation0: [],
  probationDefault: [],
})

/** `samples` rounds; in each, every measure once, in turn. */
export const restartCommand = async (samples: number): Promise<CommandBench> => {
  const servers: Server[] = []
  const start = async (supervised: boolean, probationMs: number): Promise<Server> => {
    const s = await startServer(supervised, probationMs)
    servers.push(s)
    return s
  }
  try {
    const standalone: Pair = { probation0: await start(false, 0), probationDefault: await start(false, PROBATION_MS) }
    const supervised: Pair = { probation0: await start(true, 0), probationDefault: await start(true, PROBATION_MS) }
    const results = { standalone: emptyMode(), supervised: emptyMode() }
    const startupMs: number[] = []
    const nodeMs: number[] = []
    for (let i = 0; i < samples; i++) {
      for (const [name, pair] of [['standalone', standalone], ['supervised', supervised]] as const) {
        const into = results[name]
        // the bare handoff does not depend on the probation: it ends before it
        const bare = await bareRestart(pair.probation0)
        into.bareMs.push(bare.logMs)
        into.bareWallMs.push(bare.wallMs)
        into.probation0.push(await commandRestart(pair.probation0))
        into.probationDefault.push(await commandRestart(pair.probationDefault))
      }
      const usage = await timed([CLI])
      if (usage.code !== 2) throw new Error(`node cli.js with no arguments exited ${String(usage.code)}, not 2`)
      startupMs.push(usage.ms)
      nodeMs.push((await timed(['-e', '0'])).ms)
    }
    for (const s of servers.splice(0)) await stopServer(s)
    return { ...results, startupMs, nodeMs }
  } finally {
    for (const s of servers) {
      s.server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  }
}
