/**
 * Integration harness: fresh temp folders, real server processes whose JSON log lines are parsed as they
 * come, and waits on events (a log line, an exit, a pid vanishing) with a generous hang guard instead of
 * fixed sleeps. All generations of a server share the first one's stdout, so one reader sees them all.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { createInterface } from 'node:readline'

/** The repository root, whether this runs from test/support (tsx) or dist/test/support (compiled). */
const findRoot = (from: string): string => {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json')
    if (fs.existsSync(pkg) && (JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'uninterruptible') return dir
  }
  throw new Error(`no uninterruptible package.json above ${from}`)
}

export const ROOT = findRoot(__dirname)
export const DIST = path.join(ROOT, 'dist')
export const ECHO = path.join(DIST, 'examples/echo.js')
/** The `uninterruptible` command as built. */
export const CLI = path.join(DIST, 'lib/cli.js')

export interface CommandRun {
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

/** Runs the `uninterruptible` command (or another command file) with node and waits for it to exit. */
export const runCli = (args: readonly string[], options: { readonly uid?: number; readonly gid?: number; readonly file?: string; readonly node?: string } = {}): Promise<CommandRun> =>
  new Promise((resolve) => {
    const child = spawn(options.node ?? process.execPath, [options.file ?? CLI, ...args], {
      stdio: ['ignore', 'pipe', 'pipe'],
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.gid !== undefined ? { gid: options.gid } : {}),
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()))
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()))
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })

/** How long any single wait may take before the test fails as hung; generous for a loaded 2-core box. */
export const HANG_MS = 90_000

export const tempDir = (): string => fs.mkdtempSync(path.join(os.tmpdir(), 'uni-'))

/** Runs `f` in a fresh temp folder (given `mode`, if set), removed afterwards whatever happens. */
export const withDir = async (f: (dir: string) => unknown, mode?: number): Promise<void> => {
  const dir = tempDir()
  if (mode !== undefined) fs.chmodSync(dir, mode)
  try {
    await f(dir)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

export const writeJson = (file: string, value: unknown): string => {
  fs.writeFileSync(file, JSON.stringify(value, null, 2))
  return file
}

export interface LogLine {
  readonly level: number
  readonly time: number
  readonly pid: number
  readonly generation: number
  readonly msg: string
  readonly event?: string
  readonly [key: string]: unknown
}

interface Waiter<A> {
  readonly match: (a: A) => boolean
  readonly resolve: (a: A) => void
  readonly reject: (e: Error) => void
}

/** Resolves with the first item, already seen or still to come, that matches; rejects if none comes in time. */
const awaitMatch = <A>(
  seen: readonly A[],
  waiters: Waiter<A>[],
  ended: boolean,
  match: (a: A) => boolean,
  what: string,
  tail: () => string,
  hangMs: number,
): Promise<A> => {
  const found = seen.find(match)
  if (found !== undefined) return Promise.resolve(found)
  if (ended) return Promise.reject(new Error(`${what} never came: the server's output has ended; last lines:\n${tail()}`))
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`hung waiting for ${what}; last lines:\n${tail()}`)), hangMs)
    waiters.push({
      match,
      resolve: (a) => {
        clearTimeout(timer)
        resolve(a)
      },
      reject: (e) => {
        clearTimeout(timer)
        reject(new Error(`${what} never came: ${e.message}; last lines:\n${tail()}`))
      },
    })
  })
}

/** Hands `item` to the waiters it matches and returns the others. */
const notify = <A>(waiters: Waiter<A>[], item: A): Waiter<A>[] =>
  waiters.filter((w) => {
    if (!w.match(item)) return true
    w.resolve(item)
    return false
  })

export const tryKill = (pid: number): void => {
  try {
    process.kill(pid, 'SIGKILL')
  } catch {
    // already gone
  }
}

/** Every test server and everything it starts carries this variable; cleanup finds them by it. */
const MARKER = 'UNI_TEST_RUN'

/** Pids of live processes whose environment has `name=value`. */
export const pidsWithEnv = (name: string, value: string): number[] =>
  fs
    .readdirSync('/proc')
    .filter((d) => /^\d+$/.test(d))
    .filter((d) => {
      try {
        return fs.readFileSync(`/proc/${d}/environ`, 'utf8').split('\0').includes(`${name}=${value}`)
      } catch {
        return false // gone, or not ours to read
      }
    })
    .map(Number)

/** Pids of live processes whose environment has MARKER=value. */
const markedPids = (value: string): number[] => pidsWithEnv(MARKER, value)

/**
 * Kills everything a server started: the first process, every process that logged, the whole process
 * group of every successor it spawned (a successor leads its own group; a `sh -c` wrapper that never
 * got to log is found there too), and any process still carrying the server's marker.
 */
export const killEverything = (firstPid: number, lines: readonly LogLine[], marker?: string): void => {
  for (const l of lines) if (l.event === 'successor-spawned' && typeof l.successorPid === 'number') tryKill(-l.successorPid)
  for (const pid of new Set([firstPid, ...lines.map((l) => l.pid)])) tryKill(pid)
  if (marker !== undefined) for (const pid of markedPids(marker)) tryKill(pid)
}

/** The environment tests run servers in: no PORT, PID_FILE or inheritance variables of the caller's. */
export const testEnv = (extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (k !== 'PORT' && k !== 'PID_FILE' && !k.startsWith('UNINTERRUPTIBLE_')) env[k] = v
  return { ...env, ...extra }
}

export interface SpawnOptions {
  readonly env?: NodeJS.ProcessEnv
  readonly cwd?: string
  /** Run as this user and group (needs root; see unprivileged.ts for a copy such a user can read). */
  readonly uid?: number
  readonly gid?: number
  /** File descriptors to put at fd 3, 4, ... of the server ('pipe': a socket pair with this process). */
  readonly extraFds?: readonly (number | 'ignore' | 'pipe')[]
  /** The program to run with the arguments (a wrapper such as unshare); node by default. */
  readonly command?: string
}

export class ServerProcess {
  readonly child: ChildProcess
  readonly lines: LogLine[] = []
  /** Output lines that are not JSON (stderr, and stdout text). */
  readonly text: string[] = []
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  /** The first process has exited and every generation has closed its output: every line has been read. */
  readonly closed: Promise<{ code: number | null; signal: NodeJS.Signals | null }>
  private readonly marker = randomUUID()
  private waiters: Waiter<LogLine>[] = []
  private textWaiters: Waiter<string>[] = []
  /** Every generation has closed its output: no line can come any more. */
  private ended = false

  constructor(args: readonly string[], options: SpawnOptions = {}) {
    this.child = spawn(options.command ?? process.execPath, args, {
      cwd: options.cwd ?? ROOT,
      env: { ...(options.env ?? testEnv()), [MARKER]: this.marker },
      stdio: ['ignore', 'pipe', 'pipe', ...(options.extraFds ?? [])],
      ...(options.uid !== undefined ? { uid: options.uid } : {}),
      ...(options.gid !== undefined ? { gid: options.gid } : {}),
    })
    const stdout = this.child.stdout
    const stderr = this.child.stderr
    if (stdout === null || stderr === null) throw new Error('no pipes')
    const outputs = [createInterface({ input: stdout }), createInterface({ input: stderr })]
    outputs[0]?.on('line', (l) => this.onLine(l))
    outputs[1]?.on('line', (l) => this.onText(l))
    let open = outputs.length
    for (const o of outputs) {
      o.once('close', () => {
        if (--open > 0) return
        this.ended = true
        for (const w of [...this.waiters, ...this.textWaiters]) w.reject(new Error("the server's output has ended"))
        this.waiters = []
        this.textWaiters = []
      })
    }
    this.exited = new Promise((resolve) => this.child.once('exit', (code, signal) => resolve({ code, signal })))
    const outputEnded = new Promise<void>((resolve) => {
      let open = outputs.length
      for (const o of outputs) o.once('close', () => (--open === 0 ? resolve() : undefined))
    })
    this.closed = Promise.all([this.exited, outputEnded]).then(([exit]) => exit)
  }

  static echo(configFile: string, options: SpawnOptions = {}): ServerProcess {
    return new ServerProcess([ECHO, configFile], options)
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('server did not start')
    return this.child.pid
  }

  private onText(raw: string): void {
    this.text.push(raw)
    this.textWaiters = notify(this.textWaiters, raw)
  }

  private onLine(raw: string): void {
    let line: LogLine
    try {
      line = JSON.parse(raw) as LogLine
    } catch {
      this.onText(raw)
      return
    }
    this.lines.push(line)
    this.waiters = notify(this.waiters, line)
  }

  /** The first log line (already seen or still to come) that matches. */
  waitFor(match: (l: LogLine) => boolean, what: string, hangMs = HANG_MS): Promise<LogLine> {
    return awaitMatch(this.lines, this.waiters, this.ended, match, what, () => this.tail(), hangMs)
  }

  /** The first non-JSON output line (stderr, or stdout text) that matches. */
  waitForText(match: (line: string) => boolean, what: string, hangMs = HANG_MS): Promise<string> {
    return awaitMatch(this.text, this.textWaiters, this.ended, match, what, () => this.tail(), hangMs)
  }

  /** Waits for `event` logged by `pid`. */
  event(pid: number, event: string): Promise<LogLine> {
    return this.waitFor((l) => l.pid === pid && l.event === event, `${event} from pid ${pid}`)
  }

  /** Stops one generation with SIGTERM; settles once it has logged its exit and is gone. */
  async stop(pid: number): Promise<LogLine> {
    process.kill(pid, 'SIGTERM')
    const exit = await this.event(pid, 'exit')
    await waitGone(pid)
    return exit
  }

  eventsOf(pid: number): string[] {
    return this.lines.filter((l) => l.pid === pid && l.event !== undefined).map((l) => l.event ?? '')
  }

  /** Test cleanup: see killEverything. */
  killAll(): void {
    killEverything(this.pid, this.lines, this.marker)
  }

  /** Every pid that has logged. */
  pids(): number[] {
    return [...new Set(this.lines.map((l) => l.pid))]
  }

  tail(n = 30): string {
    return [...this.lines.slice(-n).map((l) => JSON.stringify(l)), ...this.text.slice(-10), ...this.processes()].join('\n')
  }

  /** What each process this server started is doing: for a hang report. */
  processes(): string[] {
    return markedPids(this.marker).map((pid) => {
      const read = (f: string): string => {
        try {
          return fs.readFileSync(`/proc/${pid}/${f}`, 'utf8').replace(/\0/g, ' ').trim()
        } catch {
          return '?'
        }
      }
      const stat = read('stat')
      return `process ${pid} state ${stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)} wchan ${read('wchan')}: ${read('cmdline')}`
    })
  }
}

/** A process is gone when /proc has no entry for it or it is a zombie (its parent may not reap it). */
export const isGone = (pid: number): boolean => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2).startsWith('Z')
  } catch {
    return true
  }
}

/**
 * Polls `check` until it holds, for state that gives no event (a process's open files, a file that
 * another process rewrites); fails with `what` once `hangMs` has passed.
 */
export const until = async (check: () => boolean, what: string, hangMs = HANG_MS): Promise<void> => {
  const deadline = Date.now() + hangMs
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`hung waiting for ${what} (${hangMs} ms)`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

/** How many file descriptors `pid` has open. */
export const fdCount = (pid: number): number => fs.readdirSync(`/proc/${pid}/fd`).length

/**
 * A TCP port free right now on every address (for servers that must bind the same port again, or whose
 * logs cannot be read), below the kernel's ephemeral range: no client connection of a test takes it as
 * its own port meanwhile, as one could a port the kernel handed out (EADDRINUSE, seen in CI).
 */
export const freePort = async (): Promise<number> => {
  const low = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0] ?? 32768)
  for (let tries = 0; tries < 200; tries++) {
    const port = 10_000 + Math.floor(Math.random() * Math.max(1, low - 10_000))
    const free = await new Promise<boolean>((resolve) => {
      const s = net.createServer()
      s.once('error', () => resolve(false))
      s.listen(port, () => s.close(() => resolve(true)))
    })
    if (free) return port
  }
  throw new Error('no free port below the ephemeral range')
}

/** Waits until the pid is gone. Polls /proc: Node has no way to be told of a non-child's exit. */
export const waitGone = async (pid: number, hangMs = HANG_MS): Promise<void> => {
  const deadline = Date.now() + hangMs
  while (!isGone(pid)) {
    if (Date.now() > deadline) throw new Error(`process ${pid} is still running after ${hangMs} ms`)
    await new Promise((r) => setTimeout(r, 10))
  }
}

export const readPid = (file: string): number => {
  const text = fs.readFileSync(file, 'utf8').trim()
  if (!/^\d+$/.test(text)) throw new Error(`pidfile ${file} holds ${JSON.stringify(text)}`)
  return Number(text)
}

/** The TCP port a 'listening' line reports. */
export const portOf = (listening: LogLine): number => {
  const bind = String(listening.bind)
  const m = /:(\d+)$/.exec(bind)
  if (m?.[1] === undefined) throw new Error(`no port in ${bind}`)
  return Number(m[1])
}

export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return NaN
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] ?? NaN
}

/** The JSON lines of a server's `logPath`, read as they are appended (polled: files give no event). */
export class LogFile {
  readonly lines: LogLine[] = []
  private offset = 0

  constructor(private readonly file: string) {}

  private read(): void {
    if (!fs.existsSync(this.file)) return
    const text = fs.readFileSync(this.file, 'utf8')
    const end = text.lastIndexOf('\n') + 1
    for (const raw of text.slice(this.offset, end).split('\n')) if (raw !== '') this.lines.push(JSON.parse(raw) as LogLine)
    this.offset = end
  }

  async waitFor(match: (l: LogLine) => boolean, what: string, hangMs = HANG_MS): Promise<LogLine> {
    const deadline = Date.now() + hangMs
    for (;;) {
      this.read()
      const found = this.lines.find(match)
      if (found !== undefined) return found
      if (Date.now() > deadline) throw new Error(`hung waiting for ${what} in ${this.file}`)
      await new Promise((r) => setTimeout(r, 10))
    }
  }

  pids(): number[] {
    this.read()
    return [...new Set(this.lines.map((l) => l.pid))]
  }

  /** Test cleanup: see killEverything. */
  killAll(firstPid: number): void {
    this.read()
    killEverything(firstPid, this.lines)
  }
}
