/**
 * Lifecycle behaviour with real processes and signals: stopping and draining, a second stop signal,
 * restart signals during a restart or a drain, a successor that is never ready, and handler failures.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { EchoClient, exchange, holdClients, uniqueLine } from '../support/echoLoad'
import { DIST, ECHO, portOf, readPid, ServerProcess, tempDir, waitGone, writeJson } from '../support/harness'

interface Setup {
  readonly dir: string
  readonly pidfile: string
  readonly socketPath: string
  readonly config: string
}

const setup = (extra: Record<string, unknown> = {}): Setup => {
  const dir = tempDir()
  const pidfile = path.join(dir, 'echo.pid')
  const socketPath = path.join(dir, 'echo.sock')
  const config = writeJson(path.join(dir, 'echo.json'), { bind: `unix://${socketPath}`, pidfilePath: pidfile, readyTimeoutMs: 60_000, ...extra })
  return { dir, pidfile, socketPath, config }
}

const cleanup = (s: Setup, server: ServerProcess): void => {
  server.killAll()
  fs.rmSync(s.dir, { recursive: true, force: true })
}

describe('stopping', { timeout: 120_000 }, () => {
  for (const signal of ['SIGTERM', 'SIGINT'] as const) {
    it(`${signal} stops accepting, finishes open connections, removes pidfile and socket file, exits 0`, async () => {
      const s = setup()
      const server = ServerProcess.echo(s.config)
      try {
        const listening = await server.event(server.pid, 'listening')
        assert.equal(listening.generation, 1)
        assert.equal(listening.inherited, false)
        assert.equal(listening.bind, `unix://${s.socketPath}`)
        const held = await holdClients({ path: s.socketPath }, 3)
        process.kill(server.pid, signal)
        const draining = await server.event(server.pid, 'draining')
        assert.equal(draining.reason, 'stop')
        // the path goes first: nothing new can connect, and nothing waits on a dead socket
        await server.event(server.pid, 'socket-file')
        assert.ok(!fs.existsSync(s.socketPath))
        const refused = await exchange({ path: s.socketPath }, uniqueLine('late'), 30_000)
        assert.deepStrictEqual(refused.ok ? 'served' : refused.kind, 'enoent')
        assert.deepStrictEqual(await held.finish(), [{ ok: true }, { ok: true }, { ok: true }])
        const { code } = await server.exited
        assert.equal(code, 0)
        assert.equal((await server.event(server.pid, 'drained')).accepted, 3, 'the three held connections, queued or accepted, were all served')
        assert.deepStrictEqual(server.eventsOf(server.pid), ['listening', 'stop-requested', 'socket-file', 'draining', 'drained', 'exit'])
        assert.deepStrictEqual(fs.readdirSync(s.dir), ['echo.json'])
      } finally {
        cleanup(s, server)
      }
    })
  }

  for (const [signal, expected] of [['SIGTERM', 143], ['SIGINT', 130]] as const) {
    it(`a second ${signal} exits at once with ${expected}, still cleaning up`, async () => {
      const s = setup()
      const server = ServerProcess.echo(s.config)
      try {
        await server.event(server.pid, 'listening')
        const held = await holdClients({ path: s.socketPath }, 2)
        process.kill(server.pid, signal)
        await server.event(server.pid, 'draining')
        process.kill(server.pid, signal)
        const forced = await server.event(server.pid, 'forced-exit')
        assert.equal(forced.active, 2)
        const { code } = await server.exited
        assert.equal(code, expected)
        const outcomes = await held.finish()
        assert.deepStrictEqual(
          outcomes.map((o) => (o.ok ? 'served' : o.kind)).filter((k) => k !== 'reset' && k !== 'no-reply'),
          [],
          'the held connections were cut, not served',
        )
        assert.deepStrictEqual(fs.readdirSync(s.dir), ['echo.json'])
      } finally {
        cleanup(s, server)
      }
    })
  }

  it('removes the pidfile only while it holds our pid', async () => {
    const s = setup()
    const server = ServerProcess.echo(s.config)
    try {
      await server.event(server.pid, 'listening')
      fs.writeFileSync(s.pidfile, '999999\n') // someone else's now
      process.kill(server.pid, 'SIGTERM')
      assert.equal((await server.exited).code, 0)
      assert.equal(fs.readFileSync(s.pidfile, 'utf8'), '999999\n')
    } finally {
      cleanup(s, server)
    }
  })
})

describe('restart signals that are not acted on', { timeout: 120_000 }, () => {
  it('SIGUSR1 during a restart and during a drain is logged and ignored', async () => {
    const s = setup()
    const go = path.join(s.dir, 'go')
    // the successor waits for the test's go-ahead, so the restart is visibly in progress
    writeJson(s.config, {
      bind: `unix://${s.socketPath}`,
      pidfilePath: s.pidfile,
      readyTimeoutMs: 60_000,
      startCommand: `while [ ! -e ${go} ]; do sleep 0.02; done; exec ${process.execPath} ${ECHO} ${s.config}`,
    })
    const server = ServerProcess.echo(s.config)
    try {
      await server.event(server.pid, 'listening')
      const held = await holdClients({ path: s.socketPath }, 1)
      process.kill(server.pid, 'SIGUSR1')
      await server.event(server.pid, 'successor-spawned')
      process.kill(server.pid, 'SIGUSR1')
      const ignored = await server.event(server.pid, 'restart-ignored')
      assert.match(ignored.msg, /restart attempt 1 is in progress/)
      fs.writeFileSync(go, '')
      const ready = await server.event(server.pid, 'successor-ready')
      await server.event(server.pid, 'draining')
      process.kill(server.pid, 'SIGUSR1')
      const ignoredWhileDraining = await server.waitFor(
        (l) => l.pid === server.pid && l.event === 'restart-ignored' && l.msg.includes('draining'),
        'restart ignored while draining',
      )
      assert.equal(ignoredWhileDraining.reason, 'handoff')
      assert.deepStrictEqual(await held.finish(), [{ ok: true }])
      await server.exited
      const successor = Number(ready.successorPid)
      await server.event(successor, 'listening')
      assert.equal(server.lines.filter((l) => l.event === 'successor-spawned').length, 1, 'exactly one successor')
      assert.deepStrictEqual(server.pids().sort(), [server.pid, successor].sort())
      await server.stop(successor)
    } finally {
      cleanup(s, server)
    }
  })
})

describe('a successor that is never ready', { timeout: 120_000 }, () => {
  it('is killed with everything it started after readyTimeoutMs; the old one keeps serving and a later restart works', async () => {
    const s = setup()
    const hang = path.join(s.dir, 'hang')
    const grandchild = path.join(s.dir, 'grandchild')
    writeJson(s.config, {
      bind: `unix://${s.socketPath}`,
      pidfilePath: s.pidfile,
      readyTimeoutMs: 5000,
      // a sh -c wrapper that starts a background process, then never becomes ready
      startCommand: `if [ -e ${hang} ]; then sleep 1000 & echo $! > ${grandchild}; exec sleep 1000; fi; exec ${process.execPath} ${ECHO} ${s.config}`,
    })
    const server = ServerProcess.echo(s.config)
    try {
      await server.event(server.pid, 'listening')
      fs.writeFileSync(hang, '')
      process.kill(server.pid, 'SIGUSR1')
      const spawned = await server.event(server.pid, 'successor-spawned')
      const failed = await server.event(server.pid, 'successor-failed')
      assert.equal(failed.failure, 'timed-out')
      assert.equal(failed.timeoutMs, 5000)
      assert.match(failed.msg, /was not ready within 5000 ms; still serving/)
      await waitGone(Number(spawned.successorPid))
      await waitGone(Number(fs.readFileSync(grandchild, 'utf8')))
      assert.equal(readPid(s.pidfile), server.pid)
      assert.deepStrictEqual(await exchange({ path: s.socketPath }, uniqueLine('still'), 30_000), { ok: true })

      fs.rmSync(hang)
      process.kill(server.pid, 'SIGUSR1')
      const ready = await server.event(server.pid, 'successor-ready')
      assert.equal(ready.attempt, 2)
      await server.exited
      const successor = Number(ready.successorPid)
      const inherited = await server.event(successor, 'listening')
      assert.equal(inherited.inherited, true)
      assert.equal(inherited.generation, 2)
      assert.equal(inherited.parentPid, server.pid)
      await server.stop(successor)
    } finally {
      cleanup(s, server)
    }
  })
})

describe('handler failures', { timeout: 120_000 }, () => {
  it('throw, reject, Left, late writes and a handler that never settles never crash the server or leak the count', async () => {
    const dir = tempDir()
    // a leaked count would never drain: the drain timeout would end it instead
    const config = writeJson(path.join(dir, 'c.json'), { bind: 'tcp://127.0.0.1:0', drainTimeoutMs: 20_000 })
    const server = new ServerProcess([path.join(DIST, 'test/fixtures/faulty.js'), config])
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      for (let id = 1; id <= 4; id++) {
        const client = new EchoClient({ host: '127.0.0.1', port }, 30_000)
        assert.ok(await client.connected)
        const outcome = await client.result
        assert.deepStrictEqual(outcome.ok ? 'served' : outcome.kind, 'no-reply', `connection ${id} was ended by the library`)
      }
      // connection 5 leaves before the handler writes; connection 6's handler never settles
      for (let id = 5; id <= 6; id++) {
        const leaving = net.connect({ host: '127.0.0.1', port })
        await new Promise((r) => leaving.once('connect', r))
        leaving.destroy()
      }
      const failures = await Promise.all([1, 2, 3, 4].map((id) => server.waitFor((l) => l.event === 'handler-failed' && l.connection === id, `failure of ${id}`)))
      assert.deepStrictEqual(
        failures.map((l) => [l.failure, l.remote !== undefined]),
        [['threw', true], ['rejected', true], ['returned-left', true], ['returned-left', true]],
      )
      assert.match(failures[0]?.msg ?? '', /handler for connection 1 \(127\.0\.0\.1:\d+\) threw: sync failure/)
      assert.deepStrictEqual(failures[2]?.error, { _tag: 'Refused', reason: 'task said no' })
      assert.deepStrictEqual(await exchange({ host: '127.0.0.1', port }, uniqueLine('alive'), 30_000), { ok: true })

      process.kill(server.pid, 'SIGTERM')
      assert.equal((await server.closed).code, 0)
      const end = server.lines.find((l) => l.event === 'drained' || l.event === 'drain-timeout')
      assert.equal(end?.event, 'drained', 'every connection was counted out')
      assert.equal(end.accepted, 7)
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
