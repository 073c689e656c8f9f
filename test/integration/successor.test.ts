/**
 * Successor faults and signal races, with real processes: a successor that crashes at import or is
 * SIGKILLed while starting, a USR1 storm, TERM while a successor starts, a restart signal reaching a
 * booting process, a configurable restart signal, and the old process SIGKILLed mid-drain.
 */
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { exchange, holdClients, startLoad, uniqueLine } from '../support/echoLoad'
import { DIST, ECHO, isGone, readPid, ServerProcess, tempDir, testEnv, waitGone, writeJson } from '../support/harness'

const SLOW_BOOT = path.join(DIST, 'test/fixtures/slowBoot.js')
const CRASH = path.join(DIST, 'test/fixtures/crash.js')

interface Setup {
  readonly dir: string
  readonly pidfile: string
  readonly socketPath: string
  readonly config: string
  /** While this file is missing, a gated start command waits before it starts the real server. */
  readonly go: string
}

const setup = (extra: (s: Omit<Setup, 'config'>) => Record<string, unknown> = () => ({})): Setup => {
  const dir = tempDir()
  const base = { dir, pidfile: path.join(dir, 'echo.pid'), socketPath: path.join(dir, 'echo.sock'), go: path.join(dir, 'go') }
  const config = path.join(dir, 'echo.json')
  writeJson(config, { bind: `unix://${base.socketPath}`, pidfilePath: base.pidfile, readyTimeoutMs: 60_000, ...extra(base) })
  return { ...base, config }
}

/** A start command that waits for the go file, then runs `script` with the config. */
const gated = (s: Omit<Setup, 'config'>, script = ECHO): string =>
  `while [ ! -e ${s.go} ]; do sleep 0.02; done; exec ${process.execPath} ${script} ${path.join(s.dir, 'echo.json')}`

const cleanup = (s: Setup, ...servers: ServerProcess[]): void => {
  for (const server of servers) server.killAll()
  fs.rmSync(s.dir, { recursive: true, force: true })
}

/** Stops the newest generation and checks nothing is left. */
const stopAll = async (s: Setup, server: ServerProcess): Promise<void> => {
  const pid = readPid(s.pidfile)
  await server.stop(pid)
  for (const p of server.pids()) await waitGone(p)
  assert.deepStrictEqual(fs.readdirSync(s.dir).filter((f) => f !== 'go'), ['echo.json'])
}

const inspectorRefuses = (): Promise<boolean> =>
  new Promise((resolve) => {
    const c = net.connect({ host: '127.0.0.1', port: 9229 })
    c.once('connect', () => {
      c.destroy()
      resolve(false)
    })
    c.once('error', () => resolve(true))
  })

describe('successor faults', { timeout: 120_000 }, () => {
  it('a successor that throws at import: its exit code is logged, the old one keeps serving', async () => {
    const s = setup((b) => ({ startCommand: `exec ${process.execPath} ${CRASH} ${path.join(b.dir, 'echo.json')}` }))
    const server = ServerProcess.echo(s.config)
    try {
      await server.event(server.pid, 'listening')
      process.kill(server.pid, 'SIGUSR1')
      const failed = await server.event(server.pid, 'successor-failed')
      assert.equal(failed.failure, 'exited')
      assert.equal(failed.exitCode, 1)
      assert.equal(failed.signal, null)
      await server.waitForText((l) => l.includes('broken deploy: thrown at import'), "the crash's own error on stderr")
      assert.equal(readPid(s.pidfile), server.pid)
      assert.deepStrictEqual(await exchange({ path: s.socketPath }, uniqueLine('x'), 30_000), { ok: true })
      await stopAll(s, server)
    } finally {
      cleanup(s, server)
    }
  })

  it('a start command that is not found: exit code 127 is logged, the old one keeps serving', async () => {
    const s = setup(() => ({ startCommand: 'no-such-command-anywhere' }))
    const server = ServerProcess.echo(s.config)
    try {
      await server.event(server.pid, 'listening')
      process.kill(server.pid, 'SIGUSR1')
      const failed = await server.event(server.pid, 'successor-failed')
      assert.equal(failed.exitCode, 127)
      assert.deepStrictEqual(await exchange({ path: s.socketPath }, uniqueLine('x'), 30_000), { ok: true })
      await stopAll(s, server)
    } finally {
      cleanup(s, server)
    }
  })

  it('a new config that changes bind: the new process refuses, the old one keeps serving', async () => {
    const s = setup()
    const server = ServerProcess.echo(s.config)
    try {
      await server.event(server.pid, 'listening')
      writeJson(s.config, { bind: `unix://${s.dir}/moved.sock`, pidfilePath: s.pidfile })
      process.kill(server.pid, 'SIGUSR1')
      const spawned = await server.event(server.pid, 'successor-spawned')
      const refusal = await server.event(Number(spawned.successorPid), 'startup-failed')
      assert.equal(refusal.error, 'BindChanged')
      assert.match(refusal.msg, /the config's bind changed: it adds unix:\/\/.*\/moved\.sock and removes unix:\/\/.*\/echo\.sock/)
      const failed = await server.event(server.pid, 'successor-failed')
      assert.equal(failed.exitCode, 1)
      assert.match(String(failed.reason), /the config's bind changed: it adds unix:\/\/.*\/moved\.sock/, 'the old process logs why the new one refused')
      assert.equal(readPid(s.pidfile), server.pid)
      assert.deepStrictEqual(await exchange({ path: s.socketPath }, uniqueLine('x'), 30_000), { ok: true })
      assert.ok(!fs.existsSync(path.join(s.dir, 'moved.sock')))
      await stopAll(s, server)
    } finally {
      cleanup(s, server)
    }
  })

  it('a successor SIGKILLed while starting: the signal is logged, the old one is Listening again', async () => {
    const s = setup((b) => ({ startCommand: gated(b) }))
    const server = ServerProcess.echo(s.config)
    try {
      await server.event(server.pid, 'listening')
      process.kill(server.pid, 'SIGUSR1')
      const spawned = await server.event(server.pid, 'successor-spawned')
      process.kill(Number(spawned.successorPid), 'SIGKILL')
      const failed = await server.event(server.pid, 'successor-failed')
      assert.equal(failed.signal, 'SIGKILL')
      assert.match(failed.msg, /was killed by SIGKILL before it was ready; still serving/)
      // Listening again: the next restart goes through
      fs.writeFileSync(s.go, '')
      const before = server.lines.length
      process.kill(server.pid, 'SIGUSR1')
      const ready = await server.waitFor((l) => server.lines.indexOf(l) >= before && l.event === 'successor-ready', 'the retry')
      assert.equal(ready.attempt, 2)
      await server.exited
      await stopAll(s, server)
    } finally {
      cleanup(s, server)
    }
  })
})

describe('signal races', { timeout: 180_000 }, () => {
  it('a USR1 storm makes exactly one handoff and loses nothing', async (t) => {
    const s = setup((b) => ({ startCommand: gated(b) }))
    const server = ServerProcess.echo(s.config)
    let load: ReturnType<typeof startLoad> | undefined
    try {
      await server.event(server.pid, 'listening')
      load = startLoad({ path: s.socketPath }, 16)
      const held = await holdClients({ path: s.socketPath }, 4)
      // The successor waits for the go file, so the restart stays in progress while signals keep coming
      // until dozens have been delivered (the kernel merges pending duplicates, so they are paced).
      const STORM = 30
      let sent = 0
      for (; server.lines.filter((l) => l.event === 'restart-ignored').length < STORM; sent++) {
        process.kill(server.pid, 'SIGUSR1')
        await new Promise((r) => setImmediate(r))
      }
      fs.writeFileSync(s.go, '')
      const ready = await server.event(server.pid, 'successor-ready')
      for (const o of await held.finish()) assert.deepStrictEqual(o, { ok: true })
      await server.exited
      const stats = await load.stop()
      const successor = Number(ready.successorPid)
      const ignored = server.lines.filter((l) => l.event === 'restart-ignored').length
      t.diagnostic(`storm: ${sent} USR1 sent, ${ignored} logged as ignored, ${stats.exchanges} exchanges, ${stats.failed} failed`)
      assert.ok(ignored >= STORM)
      assert.equal(server.lines.filter((l) => l.event === 'successor-spawned').length, 1)
      assert.deepStrictEqual(server.pids().sort(), [server.pid, successor].sort(), 'no extra generation')
      assert.deepStrictEqual(stats.examples, [])
      assert.ok(stats.exchanges > 0)
      await stopAll(s, server)
    } finally {
      await load?.stop()
      cleanup(s, server)
    }
  })

  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} while a successor is starting: it is stopped, the old one drains and exits, nothing is left`, async () => {
      const s = setup((b) => ({ startCommand: gated(b) }))
      const server = ServerProcess.echo(s.config)
      try {
        await server.event(server.pid, 'listening')
        const held = await holdClients({ path: s.socketPath }, 2)
        process.kill(server.pid, 'SIGUSR1')
        const spawned = await server.event(server.pid, 'successor-spawned')
        process.kill(server.pid, signal)
        await server.event(server.pid, 'successor-stopped')
        await waitGone(Number(spawned.successorPid))
        assert.deepStrictEqual(await held.finish(), [{ ok: true }, { ok: true }])
        assert.equal((await server.exited).code, 0)
        for (const pid of server.pids()) await waitGone(pid)
        assert.deepStrictEqual(fs.readdirSync(s.dir), ['echo.json'])
      } finally {
        cleanup(s, server)
      }
    })
  }

  it('USR1 reaching a successor that is still booting neither kills it nor opens the inspector', async () => {
    const s = setup((b) => ({ startCommand: `exec ${process.execPath} ${SLOW_BOOT} ${path.join(b.dir, 'echo.json')}` }))
    const server = ServerProcess.echo(s.config, { env: testEnv({ BOOT_GATE: s.go }) })
    try {
      await server.event(server.pid, 'listening')
      process.kill(server.pid, 'SIGUSR1')
      const spawned = await server.event(server.pid, 'successor-spawned')
      const successor = Number(spawned.successorPid)
      await server.waitForText((l) => l === 'booting', 'the successor to start booting')
      process.kill(successor, 'SIGUSR1') // e.g. an operator's pkill -USR1 while it boots
      fs.writeFileSync(s.go, '') // let it finish booting
      const ready = await server.event(server.pid, 'successor-ready')
      assert.equal(Number(ready.successorPid), successor, 'the booting successor survived and took over')
      const ignored = await server.event(successor, 'restart-ignored')
      assert.match(ignored.msg, /SIGUSR1 ignored: it arrived while this process was starting/)
      assert.ok(!server.text.some((l) => l.includes('Debugger listening')), 'no inspector was started')
      assert.ok(await inspectorRefuses(), 'nothing listens on the inspector port')
      await server.exited
      await stopAll(s, server)
    } finally {
      cleanup(s, server)
    }
  })

  it('TERM reaching a successor that is still booting kills it; the old one keeps the socket file and serves', async () => {
    const s = setup((b) => ({ startCommand: `exec ${process.execPath} ${SLOW_BOOT} ${path.join(b.dir, 'echo.json')}` }))
    const server = ServerProcess.echo(s.config, { env: testEnv({ BOOT_GATE: s.go }) })
    try {
      await server.event(server.pid, 'listening')
      process.kill(server.pid, 'SIGUSR1')
      const successor = Number((await server.event(server.pid, 'successor-spawned')).successorPid)
      await server.waitForText((l) => l === 'booting', 'the successor to start booting')
      process.kill(successor, 'SIGTERM')
      const failed = await server.event(server.pid, 'successor-failed')
      assert.equal(failed.signal, 'SIGTERM')
      assert.ok(fs.lstatSync(s.socketPath).isSocket(), 'the shared socket file is still there')
      assert.equal(readPid(s.pidfile), server.pid)
      assert.deepStrictEqual(await exchange({ path: s.socketPath }, uniqueLine('still'), 30_000), { ok: true })
      await stopAll(s, server)
    } finally {
      cleanup(s, server)
    }
  })

  it('USR1 sent the instant the pidfile names a new process restarts it, every time, under load', async () => {
    const s = setup()
    const server = ServerProcess.echo(s.config)
    let load: ReturnType<typeof startLoad> | undefined
    try {
      await server.event(server.pid, 'listening')
      load = startLoad({ path: s.socketPath }, 32)
      let current = server.pid
      process.kill(current, 'SIGUSR1')
      for (let i = 0; i < 15; i++) {
        // the pidfile changes when the successor writes it, just before it takes over: signal it at once
        while (readPid(s.pidfile) === current) await new Promise((r) => setImmediate(r))
        const next = readPid(s.pidfile)
        process.kill(next, 'SIGUSR1')
        await server.event(next, 'restart-requested')
        current = next
      }
      const stats = await load.stop()
      assert.deepStrictEqual(stats.examples, [])
      assert.equal(server.lines.filter((l) => l.event === 'restart-ignored').length, 0)
      await server.event(current, 'successor-ready')
      await stopAll(s, server)
    } finally {
      server.killAll()
      await load?.stop()
      cleanup(s, server)
    }
  })

  it('a stop that reaches a successor while it starts, inside serve, makes it exit without taking over', async () => {
    const s = setup()
    // the config is read through a FIFO, so the successor blocks inside serve until the test feeds it
    const fifo = path.join(s.dir, 'config.fifo')
    execFileSync('mkfifo', [fifo])
    const json = JSON.stringify({ bind: `unix://${s.socketPath}`, pidfilePath: s.pidfile, readyTimeoutMs: 60_000 })
    // a FIFO's write end opens (without blocking) only once a reader has it open
    const whenReading = async (): Promise<number> => {
      for (;;) {
        try {
          return fs.openSync(fifo, fs.constants.O_WRONLY | fs.constants.O_NONBLOCK)
        } catch {
          await new Promise((r) => setTimeout(r, 5))
        }
      }
    }
    const feed = (fd: number): void => {
      fs.writeSync(fd, json)
      fs.closeSync(fd)
    }
    const server = ServerProcess.echo(fifo)
    try {
      feed(await whenReading())
      await server.event(server.pid, 'listening')
      process.kill(server.pid, 'SIGUSR1')
      const successor = Number((await server.event(server.pid, 'successor-spawned')).successorPid)
      const reading = await whenReading() // the successor is inside serve, reading its config
      process.kill(successor, 'SIGTERM')
      feed(reading)
      await server.event(successor, 'stopped-before-ready')
      const failed = await server.event(server.pid, 'successor-failed')
      assert.equal(failed.exitCode, 0)
      assert.ok(fs.lstatSync(s.socketPath).isSocket(), 'the shared socket file is still there')
      assert.equal(readPid(s.pidfile), server.pid)
      assert.deepStrictEqual(await exchange({ path: s.socketPath }, uniqueLine('still'), 30_000), { ok: true })
      process.kill(server.pid, 'SIGTERM')
      assert.equal((await server.closed).code, 0)
      assert.deepStrictEqual(fs.readdirSync(s.dir).sort(), ['config.fifo', 'echo.json'])
    } finally {
      cleanup(s, server)
    }
  })

  it('restartSignal SIGHUP: HUP restarts, USR1 is logged and ignored without opening the inspector', async () => {
    const s = setup(() => ({ restartSignal: 'SIGHUP' }))
    const server = ServerProcess.echo(s.config)
    try {
      await server.event(server.pid, 'listening')
      process.kill(server.pid, 'SIGUSR1')
      const ignored = await server.event(server.pid, 'signal-ignored')
      assert.match(ignored.msg, /SIGUSR1 ignored: the restart signal is SIGHUP/)
      assert.ok(await inspectorRefuses())
      process.kill(server.pid, 'SIGHUP')
      const ready = await server.event(server.pid, 'successor-ready')
      await server.exited
      // the successor also restarts on HUP
      const second = Number(ready.successorPid)
      process.kill(second, 'SIGHUP')
      const again = await server.event(second, 'successor-ready')
      await server.event(second, 'exit')
      assert.equal(readPid(s.pidfile), Number(again.successorPid))
      await stopAll(s, server)
    } finally {
      cleanup(s, server)
    }
  })

  it('the old process SIGKILLed while a successor starts: the successor carries on and serves alone', async () => {
    const s = setup((b) => ({ startCommand: gated(b) }))
    const server = ServerProcess.echo(s.config)
    try {
      await server.event(server.pid, 'listening')
      process.kill(server.pid, 'SIGUSR1')
      const successor = Number((await server.event(server.pid, 'successor-spawned')).successorPid)
      process.kill(server.pid, 'SIGKILL')
      await server.exited
      fs.writeFileSync(s.go, '')
      await server.event(successor, 'listening')
      const unsent = await server.event(successor, 'ready-unsent')
      assert.match(unsent.msg, /could not tell the parent this process is ready .*; serving anyway/)
      assert.equal(readPid(s.pidfile), successor)
      assert.deepStrictEqual(await exchange({ path: s.socketPath }, uniqueLine('alone'), 30_000), { ok: true })
      await stopAll(s, server)
    } finally {
      cleanup(s, server)
    }
  })

  it('the old process SIGKILLed mid-drain leaves the new one unaffected', async () => {
    const s = setup()
    const server = ServerProcess.echo(s.config)
    try {
      await server.event(server.pid, 'listening')
      const held = await holdClients({ path: s.socketPath }, 3)
      process.kill(server.pid, 'SIGUSR1')
      const ready = await server.event(server.pid, 'successor-ready')
      await server.event(server.pid, 'draining')
      process.kill(server.pid, 'SIGKILL')
      await server.exited
      const outcomes = await held.finish()
      assert.ok(outcomes.every((o) => !o.ok), "the killed process's own connections are cut")
      const successor = Number(ready.successorPid)
      const results = await Promise.all(Array.from({ length: 200 }, (_, i) => exchange({ path: s.socketPath }, uniqueLine(`after${i}`), 30_000)))
      assert.deepStrictEqual(results.filter((r) => !r.ok), [])
      assert.ok(!isGone(successor))
      assert.equal(readPid(s.pidfile), successor)
      assert.deepStrictEqual(server.eventsOf(successor), ['listening'])
      await stopAll(s, server)
    } finally {
      cleanup(s, server)
    }
  })
})
