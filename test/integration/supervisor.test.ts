/**
 * Supervisor mode with real processes: a stable process owns the sockets and runs workers. Restarts
 * under load lose nothing and never change its pid; a worker that dies is replaced; a broken deploy
 * leaves the old workers serving; workers never outlive their supervisor; a first generation that
 * cannot start fails the start; a stop refuses new clients once no worker accepts, and serves every
 * queued one; a new generation that fails during its probation lets its ready workers drain.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { EchoClient, emptyStats, exchange, holdClients, type Outcome, record, startLoad, type Target, uniqueLine } from '../support/echoLoad'
import { startEchoServer } from '../support/echoServer'
import { DIST, ECHO, isGone, type LogLine, percentile, portOf, readPid, ServerProcess, tempDir, until, waitGone, writeJson } from '../support/harness'

const RESTARTS = 20
const CONCURRENCY = 32
const HELD_PER_RESTART = 4

/** The pids of the workers of `generation` that said they listen. */
const workersOf = (server: ServerProcess, generation: number): number[] =>
  server.lines.filter((l) => l.event === 'listening' && l.worker !== undefined && l.generation === generation).map((l) => l.pid)

/** Waits until all `count` workers of `generation` have said they listen (a worker says ready before it logs). */
const listeningWorkers = async (server: ServerProcess, generation: number, count = 2): Promise<number[]> => {
  for (let slot = 0; slot < count; slot++) {
    await server.waitFor((l) => l.event === 'listening' && l.worker === slot && l.generation === generation, `worker ${slot} of generation ${generation} to listen`)
  }
  return workersOf(server, generation)
}

const replaced = (server: ServerProcess, generation: number): Promise<LogLine> =>
  server.waitFor((l) => l.pid === server.pid && l.event === 'generation-replaced' && l.generation === generation, `generation ${generation} to take over`)

const restartsUnderLoad = async (t: { diagnostic: (m: string) => void }, transport: 'tcp' | 'unix'): Promise<void> => {
  const { dir, pidfile, socketPath, server, target } = await startEchoServer(transport, { workers: 2 })
  let load: ReturnType<typeof startLoad> | undefined
  try {
    assert.equal(readPid(pidfile), server.pid)
    load = startLoad(target, CONCURRENCY)
    const heldStats = emptyStats()
    const restartMs: number[] = []
    const allWorkers = new Set(await listeningWorkers(server, 1))
    assert.equal(allWorkers.size, 2)
    for (let generation = 2; generation <= RESTARTS + 1; generation++) {
      const before = load.stats.exchanges
      const held = await holdClients(target, HELD_PER_RESTART)
      record(heldStats, await exchange(target, uniqueLine(`probe${generation}`), 60_000))
      process.kill(readPid(pidfile), 'SIGUSR1')
      const requested = await server.waitFor((l) => l.pid === server.pid && l.event === 'restart-requested' && l.generation === generation, `restart to generation ${generation}`)
      const done = await replaced(server, generation)
      restartMs.push(done.time - requested.time)
      for (const outcome of await held.finish()) record(heldStats, outcome)
      const old = workersOf(server, generation - 1)
      for (const pid of old) await waitGone(pid)
      for (const pid of await listeningWorkers(server, generation)) allWorkers.add(pid)
      assert.equal(readPid(pidfile), server.pid, 'the pidfile names the supervisor, always')
      assert.ok(load.stats.exchanges > before, `restart ${generation - 1} happened while clients were exchanging`)
    }
    const stats = await load.stop()
    t.diagnostic(
      `${transport}, 2 workers: ${RESTARTS} restarts, ${stats.exchanges} looping and ${heldStats.exchanges} held or probe exchanges, ` +
        `${stats.failed + heldStats.failed} failed ${JSON.stringify(stats.byKind)}; restart (signal to old generation draining) p50 ${percentile(restartMs, 50)} ms, max ${Math.max(...restartMs)} ms`,
    )
    assert.deepStrictEqual([...stats.examples, ...heldStats.examples], [], 'no failed exchange')
    assert.equal(heldStats.exchanges, RESTARTS * (HELD_PER_RESTART + 1))
    assert.equal(allWorkers.size, 2 * (RESTARTS + 1), 'each restart made two new workers')

    process.kill(server.pid, 'SIGTERM')
    assert.equal((await server.event(server.pid, 'exit')).code, 0)
    await server.closed
    for (const pid of [server.pid, ...allWorkers]) assert.ok(isGone(pid), `process ${pid} has exited`)
    assert.ok(!fs.existsSync(pidfile), 'no pidfile is left')
    assert.ok(!fs.existsSync(socketPath), 'no socket file is left')
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['echo.json'])
  } finally {
    await load?.stop()
    server.killAll()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

describe('supervisor: restarts under load', { timeout: 300_000 }, () => {
  it(`TCP: ${RESTARTS} restarts of 2 workers with ${CONCURRENCY} looping clients and held clients lose nothing; the supervisor's pid never changes`, (t) =>
    restartsUnderLoad(t, 'tcp'))
  it(`UNIX: ${RESTARTS} restarts of 2 workers with ${CONCURRENCY} looping clients and held clients lose nothing; the supervisor's pid never changes`, (t) =>
    restartsUnderLoad(t, 'unix'))
})

describe('supervisor: faults', { timeout: 180_000 }, () => {
  it('a worker SIGKILLed under load is replaced: only what it held fails, then nothing does', async (t) => {
    const { dir, server, target } = await startEchoServer('tcp', { workers: 2 })
    let load: ReturnType<typeof startLoad> | undefined
    try {
      load = startLoad(target, 16)
      const [victim] = await listeningWorkers(server, 1)
      assert.ok(victim !== undefined)
      await until(() => load !== undefined && load.stats.exchanges > 200, 'some exchanges')
      process.kill(victim, 'SIGKILL')
      const exited = await server.waitFor((l) => l.pid === server.pid && l.event === 'worker-exited' && l.workerPid === victim, 'the supervisor to see the worker die')
      assert.equal(exited.signal, 'SIGKILL')
      assert.equal(exited.delayMs, 100)
      const respawned = await server.waitFor((l) => l.event === 'listening' && l.worker === exited.worker && l.pid !== victim, 'its replacement')
      const during = { ...load.stats, byKind: { ...load.stats.byKind } }
      const after = load.stats.exchanges
      await until(() => load !== undefined && load.stats.exchanges > after + 500, '500 more exchanges')
      const stats = await load.stop()
      t.diagnostic(`worker ${victim} killed, replaced by ${respawned.pid}: ${during.failed} exchanges failed while it died (${JSON.stringify(during.byKind)}), ${stats.failed - during.failed} of ${stats.exchanges - during.exchanges} after`)
      assert.ok(during.failed <= 16, 'at most the connections the killed worker held fail')
      assert.equal(stats.failed, during.failed, 'nothing fails once it is replaced')
      await server.stop(server.pid)
    } finally {
      await load?.stop()
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a broken deploy (the entry file throws at start): the restart fails, saying why, and the old workers serve on with no failure', async (t) => {
    const dir = tempDir()
    const broken = path.join(dir, 'broken')
    const config = path.join(dir, 'echo.json')
    writeJson(config, {
      bind: 'tcp://127.0.0.1:0',
      pidfilePath: path.join(dir, 'echo.pid'),
      workers: 2,
      probationMs: 100,
      readyTimeoutMs: 60_000,
      startCommand: `if [ -e ${broken} ]; then exec ${process.execPath} ${path.join(DIST, 'test/fixtures/crash.js')}; else exec ${process.execPath} ${ECHO} ${config}; fi`,
    })
    const server = ServerProcess.echo(config)
    let load: ReturnType<typeof startLoad> | undefined
    try {
      const port = Number(/:(\d+)$/.exec(String((await server.event(server.pid, 'listening')).bind))?.[1])
      const target = { host: '127.0.0.1', port }
      const before = await listeningWorkers(server, 1)
      load = startLoad(target, 16)
      fs.writeFileSync(broken, '')
      process.kill(server.pid, 'SIGUSR1')
      const failed = await server.event(server.pid, 'generation-failed')
      assert.equal(failed.generation, 2)
      assert.match(failed.msg, /generation 2 failed: worker \d \(pid \d+\) exited with code 1 before it was ready \(it threw: broken deploy: thrown at import\); generation 1 serves on/)
      await until(() => load !== undefined && load.stats.exchanges > 300, 'exchanges after the failure')
      const stats = await load.stop()
      t.diagnostic(`broken deploy: ${stats.exchanges} exchanges, ${stats.failed} failed`)
      assert.deepStrictEqual(stats.examples, [])
      for (const pid of before) assert.ok(!isGone(pid), `worker ${pid} of generation 1 still serves`)
      fs.rmSync(broken)
      process.kill(server.pid, 'SIGUSR1')
      await replaced(server, 3) // the next good deploy is generation 3
      await server.stop(server.pid)
    } finally {
      await load?.stop()
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a restart signal sent to a worker is ignored with a line naming the supervisor', async () => {
    const { dir, server } = await startEchoServer('tcp', { workers: 2 })
    try {
      const [w] = await listeningWorkers(server, 1)
      assert.ok(w !== undefined)
      process.kill(w, 'SIGUSR1')
      const ignored = await server.event(w, 'restart-ignored')
      assert.equal(ignored.supervisorPid, server.pid)
      assert.match(ignored.msg, new RegExp(`send it to the supervisor, pid ${server.pid}`))
      assert.ok(!isGone(w))
      await server.stop(server.pid)
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('workers notice a supervisor killed with SIGKILL, drain and exit: nothing is left running', async () => {
    const { dir, server, target } = await startEchoServer('unix', { workers: 2 })
    try {
      const workers = await listeningWorkers(server, 1)
      const held = await holdClients(target, 4)
      process.kill(server.pid, 'SIGKILL')
      for (const w of workers) {
        const stop = await server.event(w, 'stop-requested')
        assert.equal(stop.by, 'supervisor-gone')
      }
      assert.deepStrictEqual((await held.finish()).filter((o) => !o.ok), [], 'what they held is served')
      for (const w of workers) await waitGone(w)
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('workers whose output the supervisor passed on, and that print, survive its SIGKILL: they serve what they hold, their log goes on to its stdout', async () => {
    // the harness's stdout and stderr are sockets, which a supervisor passes on (see shell/log/relay.ts)
    const { dir, server, target } = await startEchoServer('unix', { workers: 2 }, path.join(DIST, 'test/fixtures/chattyEcho.js'))
    try {
      const workers = await listeningWorkers(server, 1)
      const held = await holdClients(target, 4)
      process.kill(server.pid, 'SIGKILL')
      for (const w of workers) assert.equal((await server.event(w, 'stop-requested')).by, 'supervisor-gone')
      // each answer was printed first, to an output whose reader is gone
      assert.deepStrictEqual((await held.finish()).filter((o) => !o.ok), [], 'what they held is served')
      for (const w of workers) assert.equal((await server.event(w, 'exit')).code, 0)
      for (const w of workers) await waitGone(w)
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a first generation that cannot start fails the start: exit 1, the reason on stderr, nothing left', async () => {
    const dir = tempDir()
    const config = writeJson(path.join(dir, 'echo.json'), {
      bind: `unix://${dir}/echo.sock`,
      pidfilePath: path.join(dir, 'echo.pid'),
      workers: 2,
      startCommand: 'exit 3',
    })
    const server = ServerProcess.echo(config)
    try {
      assert.equal((await server.closed).code, 1)
      assert.ok(
        server.text.some((l) => /uninterruptible: generation 1 could not start: worker \d \(pid \d+\) exited with code 3 before it was ready/.test(l)),
        server.text.join('\n'),
      )
      assert.deepStrictEqual(fs.readdirSync(dir), ['echo.json'])
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

const QUEUED = 8
const LATE = 10

/** A stop: the clients queued before it are served; once every worker has closed its listeners, new clients are refused at once. */
const stopRefusesLate = async (t: { diagnostic: (m: string) => void }, transport: 'tcp' | 'unix'): Promise<void> => {
  const { dir, server, target, socketPath } = await startEchoServer(transport, { workers: 2 })
  try {
    const workers = await listeningWorkers(server, 1)
    // the stop removes the socket file, but a client may reach the socket by another name (a hard link, a bind mount)
    const link = path.join(dir, 'link.sock')
    if (transport === 'unix') fs.linkSync(socketPath, link)
    const late: Target = transport === 'tcp' ? target : { path: link }
    // with the workers stopped, these clients wait in the kernel's queue when the stop comes
    for (const w of workers) process.kill(w, 'SIGSTOP')
    const queued = await holdClients(target, QUEUED)
    process.kill(server.pid, 'SIGTERM')
    await server.event(server.pid, 'stop-requested')
    for (const w of workers) process.kill(w, 'SIGCONT')
    for (const w of workers) await server.event(w, 'draining') // logged once its listeners are closed
    const began = Date.now()
    const clients = Array.from({ length: LATE }, () => new EchoClient(late, 60_000))
    const settled = clients.map((c) => c.result.then((o) => ({ o, ms: Date.now() - began })))
    const connected = (await Promise.all(clients.map((c) => c.connected))).filter((c) => c).length
    const queuedOutcomes = await queued.finish()
    const lateOutcomes = await Promise.all(settled)
    const kinds = lateOutcomes.map(({ o }) => (o.ok ? 'ok' : o.kind))
    t.diagnostic(
      `${transport}: ${queuedOutcomes.filter((o) => o.ok).length} of ${QUEUED} queued clients served; ${LATE} clients after every worker closed its listeners: ${connected} connected, ` +
        `${JSON.stringify(Object.fromEntries([...new Set(kinds)].map((k) => [k, kinds.filter((x) => x === k).length])))}, settled after ${Math.min(...lateOutcomes.map((l) => l.ms))} to ${Math.max(...lateOutcomes.map((l) => l.ms))} ms`,
    )
    assert.deepStrictEqual(queuedOutcomes.filter((o) => !o.ok), [], 'every client queued before the stop is served')
    assert.deepStrictEqual(kinds, Array.from({ length: LATE }, () => 'refused'), 'a client after the listeners closed is refused, not queued for nobody')
    assert.equal((await server.closed).code, 0)
    fs.rmSync(link, { force: true })
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['echo.json'])
  } finally {
    for (const pid of workersOf(server, 1)) if (!isGone(pid)) process.kill(pid, 'SIGCONT')
    server.killAll()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** A client of the whoEcho fixture: it learns which process took it, and finishes its exchange later. */
class WhoClient {
  readonly pid: Promise<number>
  readonly result: Promise<Outcome>
  private readonly socket: net.Socket
  private received = ''
  private line = ''
  private error: NodeJS.ErrnoException | undefined

  constructor(target: Target) {
    this.socket = net.connect(target)
    this.socket.setEncoding('utf8')
    this.socket.on('error', (err: NodeJS.ErrnoException) => (this.error ??= err))
    this.pid = new Promise((resolve, reject) => {
      const onData = (): void => {
        const nl = this.received.indexOf('\n')
        if (nl < 0) return
        this.socket.removeListener('data', onData)
        resolve(Number(this.received.slice(0, nl)))
      }
      this.socket.on('data', (d: string) => (this.received += d))
      this.socket.on('data', onData)
      this.socket.once('close', () => reject(new Error(`closed before it said its pid (${this.error?.code ?? 'no error'})`)))
    })
    this.result = new Promise((resolve) => {
      this.socket.once('close', () => {
        const echoed = this.received.slice(this.received.indexOf('\n') + 1)
        if (this.error !== undefined) resolve({ ok: false, kind: this.error.code === 'ECONNRESET' ? 'reset' : 'other', detail: `${this.error.code ?? ''} ${this.error.message}` })
        else if (echoed === this.line && this.line !== '') resolve({ ok: true })
        else resolve({ ok: false, kind: echoed === '' ? 'no-reply' : 'wrong-echo', detail: `sent ${JSON.stringify(this.line)}, got ${JSON.stringify(echoed)}` })
      })
    })
    this.pid.catch(() => undefined)
  }

  finish(): Promise<Outcome> {
    this.line = uniqueLine('who')
    this.socket.write(this.line)
    return this.result
  }
}

describe('supervisor: stops and failed generations', { timeout: 180_000 }, () => {
  it('TCP: a stop serves every queued client, then refuses new clients at once (not reset seconds later)', (t) => stopRefusesLate(t, 'tcp'))
  it('UNIX: a stop serves every queued client, then refuses new clients reaching the socket by another name', (t) => stopRefusesLate(t, 'unix'))

  it('a new worker that dies during its probation: its ready sibling drains what it holds (nothing reset), the old generation serves on', async (t) => {
    const dir = tempDir()
    const config = writeJson(path.join(dir, 'who.json'), {
      bind: 'tcp://127.0.0.1:0',
      pidfilePath: path.join(dir, 'who.pid'),
      workers: 2,
      probationMs: 600_000, // the new generation fails long before it would pass
      readyTimeoutMs: 60_000,
    })
    const server = new ServerProcess([path.join(DIST, 'test/fixtures/whoEcho.js'), config])
    const clients: WhoClient[] = []
    try {
      const target = { host: '127.0.0.1', port: portOf(await server.event(server.pid, 'listening')) }
      const old = await listeningWorkers(server, 1)
      process.kill(server.pid, 'SIGUSR1')
      await server.waitFor((l) => l.pid === server.pid && l.event === 'generation-ready' && l.generation === 2, 'generation 2 on probation')
      const [victim, sibling] = await listeningWorkers(server, 2)
      assert.ok(victim !== undefined && sibling !== undefined)
      // connections the sibling has taken and is serving (the kernel picks the worker: open until it has 3)
      const on = new Map<number, number>()
      while ((on.get(sibling) ?? 0) < 3) {
        assert.ok(clients.length < 400, `the sibling got ${on.get(sibling) ?? 0} of ${clients.length} connections`)
        const c = new WhoClient(target)
        clients.push(c)
        const pid = await c.pid
        on.set(pid, (on.get(pid) ?? 0) + 1)
      }
      const pids = await Promise.all(clients.map((c) => c.pid))
      process.kill(victim, 'SIGKILL')
      const failed = await server.event(server.pid, 'generation-failed')
      assert.equal(failed.generation, 2)
      const outcomes = await Promise.all(clients.map((c) => c.finish()))
      const of = (pid: number): Outcome[] => outcomes.filter((_, i) => pids[i] === pid)
      const bad = (pid: number): number => of(pid).filter((o) => !o.ok).length
      const siblingExit = await server.waitFor((l) => l.pid === server.pid && l.event === 'worker-exited' && l.workerPid === sibling, 'the sibling to exit')
      t.diagnostic(
        `held ${clients.length}: victim ${bad(victim)} of ${of(victim).length} failed; sibling ${bad(sibling)} of ${of(sibling).length} failed (exit ${String(siblingExit.exitCode)}, signal ${String(siblingExit.signal)}); ` +
          `old generation ${old.reduce((n, p) => n + bad(p), 0)} of ${old.reduce((n, p) => n + of(p).length, 0)} failed`,
      )
      assert.deepStrictEqual(of(sibling).filter((o) => !o.ok), [], 'what the ready sibling held is served')
      assert.equal(siblingExit.signal ?? null, null, 'the sibling drained and exited by itself')
      for (const pid of old) {
        assert.deepStrictEqual(of(pid).filter((o) => !o.ok), [], `worker ${pid} of generation 1 served what it held`)
        assert.ok(!isGone(pid), `worker ${pid} of generation 1 serves on`)
      }
      const next = new WhoClient(target)
      assert.ok(old.includes(await next.pid), 'a new client reaches generation 1')
      assert.ok((await next.finish()).ok)
      await server.stop(server.pid)
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
