/**
 * Draining: the drain timeout, and ten thousand idle connections held across a restart, all served by
 * the draining old process while new clients go to the new one.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { EchoClient, exchange, type Outcome, uniqueLine } from '../support/echoLoad'
import { portOf, ServerProcess, tempDir, writeJson } from '../support/harness'

describe('drain timeout', { timeout: 120_000 }, () => {
  it('closes the connections still open at drainTimeoutMs and exits 0', async (t) => {
    const dir = tempDir()
    const sock = path.join(dir, 'echo.sock')
    const server = ServerProcess.echo(writeJson(path.join(dir, 'echo.json'), { bind: `unix://${sock}`, drainTimeoutMs: 1000 }))
    try {
      await server.event(server.pid, 'listening')
      // three clients that never send their line
      const idle = Array.from({ length: 3 }, () => new EchoClient({ path: sock }, 60_000))
      for (const c of idle) assert.ok(await c.connected)
      process.kill(server.pid, 'SIGTERM')
      const draining = await server.event(server.pid, 'draining')
      const timeout = await server.event(server.pid, 'drain-timeout')
      assert.equal(timeout.active, 3)
      // not a timing measurement: early would be a wrong timer, far late a missing one (the bench times it)
      assert.ok(timeout.time - draining.time >= 990, `the timeout fired ${timeout.time - draining.time} ms into the drain, not before 1000`)
      assert.ok(timeout.time - draining.time < 30_000, `the timeout fired ${timeout.time - draining.time} ms into the drain`)
      assert.equal((await server.exited).code, 0)
      const exit = await server.event(server.pid, 'exit')
      for (const c of idle) {
        const o = await c.result
        assert.equal(o.ok ? 'served' : o.kind, 'no-reply', 'the idle connection was closed by the server, not timed out')
      }
      t.diagnostic(`drain timeout 1000 ms: timed out ${timeout.time - draining.time} ms after the drain began, exited ${exit.time - timeout.time} ms later`)
      assert.deepStrictEqual(fs.readdirSync(dir), ['echo.json'])
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('a client that keeps its side open', { timeout: 120_000 }, () => {
  it('does not keep the old generation alive: its finished connection is closed idleGraceMs into the drain', async () => {
    const dir = tempDir()
    const pidfile = path.join(dir, 'echo.pid')
    const server = ServerProcess.echo(writeJson(path.join(dir, 'echo.json'), { bind: 'tcp://127.0.0.1:0', pidfilePath: pidfile, readyTimeoutMs: 60_000, idleGraceMs: 300 }))
    let client: net.Socket | undefined
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      // allowHalfOpen: the server's FIN does not make this client close its own side
      const c = net.connect({ host: '127.0.0.1', port, allowHalfOpen: true })
      client = c
      let got = ''
      c.setEncoding('utf8').on('data', (d: string) => (got += d))
      const ended = new Promise((r) => c.once('end', r))
      c.on('error', () => undefined) // a write after the server has gone would be reset
      c.write('half open\n')
      await ended // the handler has finished and the server sent its FIN
      assert.equal(got, 'half open\n')
      assert.ok(c.writable, 'the client still has its side open')

      process.kill(server.pid, 'SIGUSR1')
      const successor = Number((await server.event(server.pid, 'successor-ready')).successorPid)
      assert.equal((await server.event(server.pid, 'draining')).active, 1)
      const drained = await server.waitFor((l) => l.pid === server.pid && (l.event === 'drained' || l.event === 'drain-timeout'), 'the drain')
      assert.equal(drained.event, 'drained')
      assert.equal((await server.exited).code, 0) // the kernel has nothing to tell the client until it writes
      await server.stop(successor)
    } finally {
      client?.destroy()
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

const IDLE = 10_000

describe('ten thousand idle connections across a restart', { timeout: 300_000 }, () => {
  it(`${IDLE} idle connections are all served by the draining old process while new clients go to the new one`, async (t) => {
    const dir = tempDir()
    const pidfile = path.join(dir, 'echo.pid')
    const server = ServerProcess.echo(writeJson(path.join(dir, 'echo.json'), { bind: 'tcp://127.0.0.1:0', pidfilePath: pidfile, readyTimeoutMs: 60_000 }))
    const idle: EchoClient[] = []
    try {
      const target = { host: '127.0.0.1', port: portOf(await server.event(server.pid, 'listening')) }
      for (let i = 0; i < IDLE; i += 500) {
        const batch = Array.from({ length: Math.min(500, IDLE - i) }, () => new EchoClient(target, 240_000))
        assert.ok((await Promise.all(batch.map((c) => c.connected))).every(Boolean))
        idle.push(...batch)
      }
      // the accept queue is first in, first out: once this exchange is served, every idle one was accepted
      assert.deepStrictEqual(await exchange(target, uniqueLine('probe'), 60_000), { ok: true })

      process.kill(server.pid, 'SIGUSR1')
      const ready = await server.event(server.pid, 'successor-ready')
      const successor = Number(ready.successorPid)
      const draining = await server.event(server.pid, 'draining')
      assert.ok(Number(draining.active) >= IDLE, `the old process holds all ${IDLE} (it reports ${String(draining.active)})`)

      // new clients while the old one drains
      const fresh = await Promise.all(Array.from({ length: 500 }, (_, i) => exchange(target, uniqueLine(`new${i}`), 60_000)))
      assert.deepStrictEqual(fresh.filter((o) => !o.ok), [])

      idle.forEach((c, i) => c.send(uniqueLine(`idle${i}`)))
      const outcomes: Outcome[] = await Promise.all(idle.map((c) => c.result))
      assert.deepStrictEqual(outcomes.filter((o) => !o.ok).slice(0, 5), [])
      const drained = await server.event(server.pid, 'drained')
      assert.equal(drained.accepted, IDLE + 1, 'the old process accepted the idle ones and the probe, none of the new clients')
      await server.event(server.pid, 'exit')
      await server.exited
      t.diagnostic(`${IDLE} idle connections served by the old process, which then exited (the bench times last close to exit)`)

      await server.stop(successor)
      assert.deepStrictEqual(fs.readdirSync(dir), ['echo.json'])
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
