/**
 * A log reader that stops reading (a `| cat` that is stopped, a hung `| tee`, a journal that does not
 * keep up): logging must never block a process of the library. With stdout a pipe whose reader is
 * SIGSTOPped, and a UNIX socket whose reader does not read (what journald gives a service), status,
 * restart, a worker's respawn and TERM all still work; lines that cannot be written are dropped and
 * said so; once the reader reads again, logging resumes with a `log-lines-dropped` line.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { askMany, ControlConnection, type ControlReply } from '../support/controlClient'
import { DIST, ECHO, HANG_MS, type LogLine, runCli, ServerProcess, tempDir, waitGone, writeJson } from '../support/harness'

/** Enough status requests, each logged with its 1,500-character id, to fill a pipe (64 KiB), a socket's buffer and any queue behind them many times over. */
const FLOOD = 600
const ID_LENGTH = 1500

interface Setup {
  readonly dir: string
  readonly config: string
  readonly controlPath: string
}

const setup = (workers: boolean): Setup => {
  const dir = tempDir()
  const config = path.join(dir, 'echo.json')
  const controlPath = path.join(dir, 'control.sock')
  writeJson(config, {
    bind: 'tcp://127.0.0.1:0',
    pidfilePath: path.join(dir, 'echo.pid'),
    controlPath,
    probationMs: 100,
    readyTimeoutMs: 60_000,
    ...(workers ? { workers: 2 } : {}),
  })
  return { dir, config, controlPath }
}

/** The echo server with its stdout piped through `cat` (`sh -c 'node ... | cat'`); the harness reads cat's output. */
const piped = (config: string): ServerProcess => new ServerProcess(['-c', '"$0" "$1" "$2" | cat', process.execPath, ECHO, config], { command: '/bin/sh' })

const parentOf = (pid: string): number => {
  const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
  return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1])
}

/** The `cat` that `sh` (pid `shell`) started. */
const catOf = (shell: number): number => {
  for (const d of fs.readdirSync('/proc').filter((x) => /^\d+$/.test(x))) {
    try {
      if (fs.readFileSync(`/proc/${d}/comm`, 'utf8').trim() === 'cat' && parentOf(d) === shell) return Number(d)
    } catch {
      // gone
    }
  }
  throw new Error(`no cat started by ${shell}`)
}

/** A reader that stops and goes on: `cat` with SIGSTOP/SIGCONT, or the harness's own reading of a socket. */
interface Reader {
  readonly stop: () => void
  readonly go: () => void
}

const catReader = (cat: number): Reader => ({ stop: () => process.kill(cat, 'SIGSTOP'), go: () => process.kill(cat, 'SIGCONT') })

const socketReader = (server: ServerProcess): Reader => {
  const out = server.child.stdout
  if (out === null) throw new Error('no stdout')
  return { stop: () => out.pause(), go: () => out.resume() }
}

interface StatusReply extends ControlReply {
  readonly status: { readonly generation: number; readonly workers?: readonly { readonly pid: number | null; readonly worker: number; readonly generation: number; readonly connections: unknown }[] }
}

const status = async (controlPath: string): Promise<StatusReply['status']> => {
  const c = await ControlConnection.open(controlPath)
  try {
    const r = await c.ask('status', 'status')
    assert.ok(r?.ok === true, `a status reply: ${JSON.stringify(r)}`)
    return (r as StatusReply).status
  } finally {
    c.close()
  }
}

/** Asks for the status until `check` holds (a respawn gives no event that can be read while the log is stalled). */
const statusUntil = async (controlPath: string, check: (s: StatusReply['status']) => boolean, what: string): Promise<StatusReply['status']> => {
  const deadline = Date.now() + HANG_MS
  for (;;) {
    const s = await status(controlPath)
    if (check(s)) return s
    if (Date.now() > deadline) throw new Error(`hung waiting for ${what}; last status ${JSON.stringify(s)}`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** Fills the log: every status request is answered although the reader reads nothing. */
const flood = async (controlPath: string): Promise<void> => {
  const answered = await askMany(controlPath, FLOOD, ID_LENGTH, 20_000)
  assert.equal(answered, FLOOD, `status requests answered while the log reader is stopped (${answered} of ${FLOOD})`)
}

/** Every line that reached the reader is whole (parsed as JSON), and each process's lines are in order. */
const assertWholeAndInOrder = (server: ServerProcess): void => {
  assert.deepStrictEqual(
    server.text.filter((l) => l.includes('"level"')),
    [],
    'no log line broken',
  )
  const last = new Map<number, LogLine>()
  for (const l of server.lines) {
    const before = last.get(l.pid)
    if (before !== undefined) assert.ok(l.time >= before.time, `pid ${l.pid}: ${JSON.stringify(l)} after ${JSON.stringify(before)}`)
    last.set(l.pid, l)
  }
}

/** A line logged now reaches the reader. */
const resumed = async (s: Setup, server: ServerProcess, pid: number): Promise<void> => {
  const c = await ControlConnection.open(s.controlPath)
  try {
    assert.ok((await c.ask('status', 'resumed'))?.ok)
  } finally {
    c.close()
  }
  await server.waitFor((l) => l.pid === pid && l.event === 'control-request' && l.id === 'resumed', 'a line logged after the reader went on')
}

const dropNotice = (server: ServerProcess): Promise<string> => server.waitForText((l) => l.includes('cannot write to the log (stdout)'), 'the notice on stderr that log lines are dropped')

/** TERM to the supervisor `sup` with the reader stopped and the log full: every process exits, and every line that reached the reader is whole. */
const stopWhileStalled = async (s: Setup, server: ServerProcess, sup: number, r: Reader): Promise<void> => {
  r.stop()
  await flood(s.controlPath)
  const last = await status(s.controlPath)
  process.kill(sup, 'SIGTERM')
  await waitGone(sup)
  for (const w of last.workers ?? []) if (w.pid !== null) await waitGone(w.pid)
  r.go()
  await server.closed
  assertWholeAndInOrder(server)
}

const supervised = async (s: Setup, server: ServerProcess, reader: (sup: number) => Reader): Promise<void> => {
  const sup = (await server.waitFor((l) => l.event === 'listening' && l.supervisor === true, 'the supervisor listening')).pid
  const r = reader(sup)
  r.stop()
  await flood(s.controlPath)
  assert.match(await dropNotice(server), /dropping log lines until it works again/)

  const restarted = await runCli(['restart', s.config, '--timeout', '60000'])
  assert.equal(restarted.code, 0, `restart while the log reader is stopped: ${restarted.stdout}${restarted.stderr}`)
  const before = await status(s.controlPath)
  assert.equal(before.generation, 2)
  // a serving worker (the old generation's may still be draining)
  const killed = before.workers?.find((w) => w.generation === before.generation)?.pid ?? null
  assert.ok(killed !== null, JSON.stringify(before))
  process.kill(killed, 'SIGKILL')
  await statusUntil(
    s.controlPath,
    (st) => st.workers?.every((w) => w.pid !== null && w.pid !== killed && w.connections !== null) === true,
    `worker ${killed} respawned`,
  )

  r.go()
  const dropped = await server.waitFor((l) => l.pid === sup && l.event === 'log-lines-dropped', 'log-lines-dropped from the supervisor')
  assert.ok(typeof dropped.dropped === 'number' && dropped.dropped > 0, JSON.stringify(dropped))
  await resumed(s, server, sup)

  await stopWhileStalled(s, server, sup, r)
}

describe('a log reader that stops reading', { timeout: 300_000 }, () => {
  it('supervised, stdout a pipe (`| cat`, cat SIGSTOPped): status, restart, a respawn and TERM work; logging resumes with log-lines-dropped', async () => {
    const s = setup(true)
    const server = piped(s.config)
    try {
      await supervised(s, server, () => catReader(catOf(server.pid)))
    } finally {
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })

  it('supervised, stdout a UNIX socket whose reader does not read (as journald): status, restart, a respawn and TERM work; logging resumes', async () => {
    const s = setup(true)
    const server = ServerProcess.echo(s.config) // the harness's stdout is a socket pair
    try {
      assert.ok(fs.fstatSync((server.child.stdout as unknown as { _handle: { fd: number } })._handle.fd).isSocket(), 'stdout is a socket')
      await supervised(s, server, () => socketReader(server))
    } finally {
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })

  it('supervised, stdout a UNIX socket whose reader does not read, workers that keep starting subprocesses with that stdout: TERM stops every process', async () => {
    // each subprocess's start clears O_NONBLOCK on the stdout it inherits: a write to a socket shared
    // with them can block until the reader reads (docs/ARCHITECTURE.md, "A log reader that stops reading")
    const s = setup(true)
    const server = new ServerProcess([path.join(DIST, 'test/fixtures/spawnLoop.js'), s.config])
    try {
      const sup = (await server.waitFor((l) => l.event === 'listening' && l.supervisor === true, 'the supervisor listening')).pid
      await stopWhileStalled(s, server, sup, socketReader(server))
    } finally {
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })

  it('standalone, stdout a pipe (`| cat`, cat SIGSTOPped): status and restart work, logging resumes with log-lines-dropped, TERM stops it', async () => {
    const s = setup(false)
    const server = piped(s.config)
    try {
      const first = (await server.waitFor((l) => l.event === 'listening', 'listening')).pid
      const r = catReader(catOf(server.pid))
      r.stop()
      await flood(s.controlPath)
      assert.match(await dropNotice(server), /dropping log lines until it works again/)
      r.go()
      const dropped = await server.waitFor((l) => l.pid === first && l.event === 'log-lines-dropped', 'log-lines-dropped')
      assert.ok(typeof dropped.dropped === 'number' && dropped.dropped > 0, JSON.stringify(dropped))
      await resumed(s, server, first)

      r.stop()
      await flood(s.controlPath)
      const restarted = await runCli(['restart', s.config, '--timeout', '60000'])
      assert.equal(restarted.code, 0, `restart while the log reader is stopped: ${restarted.stdout}${restarted.stderr}`)
      const second = await status(s.controlPath)
      assert.equal(second.generation, 2)
      await waitGone(first)
      await flood(s.controlPath)
      const pid = Number(fs.readFileSync(path.join(s.dir, 'echo.pid'), 'utf8'))
      process.kill(pid, 'SIGTERM')
      await waitGone(pid)
      r.go()
      await server.closed
      assertWholeAndInOrder(server)
    } finally {
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })
})
