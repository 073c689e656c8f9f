/**
 * HTTP servers through restarts, with real processes and a checked keep-alive load generator
 * (test/support/httpLoad.ts): every request sent is answered 200 with the right body, old generations
 * are not pinned by kept-alive connections, a slow request in flight across a restart completes, and
 * an Express app works unchanged.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as http from 'node:http'
import type * as net from 'node:net'
import { connect as netConnect, createServer as netServer } from 'node:net'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { startHttpLoad, type HttpLoad } from '../support/httpLoad'
import { DIST, isGone, percentile, portOf, readPid, ServerProcess, tempDir, until, waitGone, writeJson } from '../support/harness'

const HTTP_EXAMPLE = path.join(DIST, 'examples/http.js')

interface Reply {
  readonly status: number
  readonly body: string
  readonly connection: string | undefined
}

const get = (port: number, urlPath: string, agent?: http.Agent): Promise<Reply> =>
  new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, ...(agent !== undefined ? { agent } : {}) }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }))
      })
      .on('error', reject)
  })

/**
 * One request on a kept-alive connection; gives back a promise of that connection closing (wrapped:
 * an async function returning a bare promise would wait for it).
 */
const keepOneAlive = async (port: number, agent: http.Agent): Promise<{ readonly closed: Promise<unknown> }> => {
  let kept: net.Socket | undefined
  agent.once('free', (socket: net.Socket) => (kept = socket))
  assert.equal((await get(port, '/', agent)).connection, 'keep-alive')
  if (kept === undefined) throw new Error('the agent kept no socket')
  const socket = kept
  return { closed: new Promise((r) => socket.once('close', r)) }
}

const RESTARTS = 20
const CONNECTIONS = 64
const PAUSED = 16

describe('HTTP', { timeout: 300_000 }, () => {
  it(`${CONNECTIONS} keep-alive connections at full speed (and ${PAUSED} pausing ones) through ${RESTARTS} restarts: every request sent is answered 200 with a right body, no old generation pinned`, async (t) => {
    const dir = tempDir()
    const pidfile = path.join(dir, 'http.pid')
    const config = writeJson(path.join(dir, 'http.json'), {
      bind: 'tcp://127.0.0.1:0',
      pidfilePath: pidfile,
      readyTimeoutMs: 60_000,
      drainTimeoutMs: 60_000,
      idleGraceMs: 1000,
      probationMs: 100,
    })
    const server = new ServerProcess([HTTP_EXAMPLE, config])
    let load: HttpLoad | undefined
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      load = startHttpLoad({ port, fullSpeed: CONNECTIONS, paused: PAUSED, maxPauseMs: 50, body: /^hello from pid \d+\n$/ })
      const drainMs: number[] = []
      const generations = [server.pid]
      for (let i = 1; i <= RESTARTS; i++) {
        await load.answered(CONNECTIONS) // the restart happens under load
        assert.deepStrictEqual(load.stats.examples, [], `no failed request before restart ${i}`)
        const old = readPid(pidfile)
        process.kill(old, 'SIGUSR1')
        const ready = await server.event(old, 'successor-ready')
        generations.push(Number(ready.successorPid))
        const draining = await server.event(old, 'draining')
        const end = await server.waitFor((l) => l.pid === old && (l.event === 'drained' || l.event === 'drain-timeout'), `the drain of ${old}`)
        assert.equal(end.event, 'drained', `generation ${old} drained before its timeout`)
        drainMs.push(end.time - draining.time)
        await server.event(old, 'exit')
        await waitGone(old)
      }
      const stats = await load.stop()
      load = undefined
      t.diagnostic(
        `${RESTARTS} restarts, ${stats.sent} requests sent, ${stats.ok} answered 200 with the right body (${stats.closing} with Connection: close), ` +
          `${stats.failed} failed ${JSON.stringify(stats.byKind)}; old generation drain p50 ${percentile(drainMs, 50)} ms, max ${Math.max(...drainMs)} ms`,
      )
      assert.deepStrictEqual(stats.examples, [], 'no failed request')
      assert.equal(stats.ok, stats.sent, 'every request sent was answered')
      assert.ok(stats.closing >= RESTARTS, 'the drains told busy clients to reconnect')
      assert.ok(stats.sent > RESTARTS * CONNECTIONS)

      const last = readPid(pidfile)
      await server.stop(last)
      for (const pid of generations) await waitGone(pid)
      assert.deepStrictEqual(fs.readdirSync(dir), ['http.json'])
    } finally {
      await load?.stop()
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a slow request in flight across a restart completes with 200 from the old process, which then closes the connection', async () => {
    const dir = tempDir()
    const config = writeJson(path.join(dir, 'http.json'), { bind: 'tcp://127.0.0.1:0', readyTimeoutMs: 60_000 })
    const server = new ServerProcess([path.join(DIST, 'test/fixtures/slowHttp.js'), config], { env: { ...process.env, SLOW_MS: '2000' } })
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      assert.equal((await get(port, '/', agent)).status, 200) // the kept-alive connection the slow request reuses
      const slow = get(port, '/slow', agent)
      await server.waitForText((l) => l === `slow request started in ${server.pid}`, 'the slow request to start')
      process.kill(server.pid, 'SIGUSR1')
      const ready = await server.event(server.pid, 'successor-ready')
      const reply = await slow
      assert.deepStrictEqual(reply, { status: 200, body: `slow answer from pid ${server.pid}\n`, connection: 'close' })
      assert.equal((await server.exited).code, 0)
      const after = await get(port, '/', agent)
      assert.deepStrictEqual(after, { status: 200, body: `hello from pid ${String(ready.successorPid)}\n`, connection: 'keep-alive' })
      await server.stop(Number(ready.successorPid))
    } finally {
      agent.destroy()
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a response still streaming at drainTimeoutMs is cut off, and the old process exits 0', async () => {
    const dir = tempDir()
    const config = writeJson(path.join(dir, 'http.json'), { bind: 'tcp://127.0.0.1:0', readyTimeoutMs: 60_000, drainTimeoutMs: 1000 })
    const server = new ServerProcess([path.join(DIST, 'test/fixtures/slowHttp.js'), config])
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      let started: () => void = () => undefined
      const streaming = new Promise<void>((resolve) => (started = resolve))
      const outcome = new Promise<{ readonly first: string; readonly completed: boolean }>((resolve, reject) => {
        http
          .get({ host: '127.0.0.1', port, path: '/stream' }, (res) => {
            let first = ''
            let completed = false
            res.setEncoding('utf8')
            res.on('data', (d: string) => {
              first ||= d
              started()
            })
            res.on('end', () => (completed = true))
            res.on('error', () => undefined) // 'aborted': the server cut it off
            res.on('close', () => resolve({ first, completed }))
          })
          .on('error', reject)
      })
      await streaming
      process.kill(server.pid, 'SIGUSR1')
      const successor = Number((await server.event(server.pid, 'successor-ready')).successorPid)
      const timedOut = await server.event(server.pid, 'drain-timeout')
      assert.equal(timedOut.active, 1, 'the streaming response was still open')
      assert.equal((await server.exited).code, 0)
      const { first, completed } = await outcome
      assert.equal(first, `stream from pid ${server.pid}\n`)
      assert.equal(completed, false, 'the response was cut off, not completed')
      await server.stop(successor)
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('five requests pipelined in one write on a kept-alive connection while the old process drains are all answered, the last with Connection: close', async () => {
    const dir = tempDir()
    const config = writeJson(path.join(dir, 'http.json'), { bind: 'tcp://127.0.0.1:0', readyTimeoutMs: 60_000, idleGraceMs: 30_000, probationMs: 100 })
    const server = new ServerProcess([HTTP_EXAMPLE, config])
    const socket = new Promise<net.Socket>((resolve) => {
      void server.event(server.pid, 'listening').then((l) => {
        const s = netConnect(portOf(l), '127.0.0.1', () => resolve(s))
      })
    })
    let received = ''
    const request = (i: number): string => `GET / HTTP/1.1\r\nHost: test-${i}\r\n\r\n`
    try {
      const client = await socket
      client.setEncoding('utf8')
      client.on('data', (d: string) => (received += d))
      const closed = new Promise((r) => client.once('close', r))
      client.write(request(0)) // the connection is kept alive with the old process
      await until(() => received.includes('hello from'), 'the first answer')
      process.kill(server.pid, 'SIGUSR1')
      await server.event(server.pid, 'draining')
      client.write([1, 2, 3, 4, 5].map(request).join(''))
      await closed
      const responses = received.split('HTTP/1.1 ').slice(1)
      assert.equal(responses.length, 6, received)
      for (const r of responses) {
        assert.match(r, /^200 OK\r\n/)
        assert.ok(r.includes(`hello from pid ${server.pid}\n`), r)
      }
      // HTTP/1.1 keeps a connection alive unless a response says `close`: only the last one does
      assert.deepStrictEqual(
        responses.map((r) => /\r\nConnection: (\S+)\r\n/i.exec(r)?.[1] ?? 'keep-alive'),
        ['keep-alive', 'keep-alive', 'keep-alive', 'keep-alive', 'keep-alive', 'close'],
      )
      const ready = await server.event(server.pid, 'successor-ready')
      await server.event(server.pid, 'exit')
      await server.stop(Number(ready.successorPid))
    } finally {
      ;(await Promise.race([socket, Promise.resolve(undefined)]))?.destroy()
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('an idle kept-alive connection does not pin the old process: it is closed after idleGraceMs', async () => {
    const dir = tempDir()
    const config = writeJson(path.join(dir, 'http.json'), { bind: 'tcp://127.0.0.1:0', readyTimeoutMs: 60_000, idleGraceMs: 300, drainTimeoutMs: 60_000 })
    const server = new ServerProcess([HTTP_EXAMPLE, config])
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      const keptClosed = (await keepOneAlive(port, agent)).closed
      process.kill(server.pid, 'SIGUSR1')
      const ready = await server.event(server.pid, 'successor-ready')
      const draining = await server.event(server.pid, 'draining')
      assert.equal(draining.active, 1, 'the idle kept-alive connection is open')
      const drained = await server.waitFor((l) => l.pid === server.pid && (l.event === 'drained' || l.event === 'drain-timeout'), 'the drain')
      assert.equal(drained.event, 'drained')
      await server.exited
      await keptClosed // the server closed the idle kept-alive connection
      const after = await get(port, '/', agent)
      assert.equal(after.body, `hello from pid ${String(ready.successorPid)}\n`)
      await server.stop(Number(ready.successorPid))
    } finally {
      agent.destroy()
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a request arriving in parts over more than idleGraceMs while draining is not cut off: the grace counts from the last byte read', async () => {
    const dir = tempDir()
    const config = writeJson(path.join(dir, 'http.json'), { bind: 'tcp://127.0.0.1:0', readyTimeoutMs: 60_000, idleGraceMs: 1000, drainTimeoutMs: 60_000 })
    const server = new ServerProcess([HTTP_EXAMPLE, config])
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      const socket = netConnect({ host: '127.0.0.1', port })
      let got = ''
      socket.setEncoding('utf8').on('data', (d: string) => (got += d))
      const closed = new Promise((r) => socket.once('close', r))
      const request = 'GET / HTTP/1.1\r\nHost: x\r\n\r\n'
      const body = `hello from pid ${server.pid}\n`
      socket.write(request)
      await new Promise<void>((resolve) => {
        const check = (): void => {
          if (!got.includes(body) || !got.endsWith('\r\n0\r\n\r\n')) return // chunked: the last chunk
          socket.removeListener('data', check)
          resolve()
        }
        socket.on('data', check)
      })
      got = ''
      process.kill(server.pid, 'SIGUSR1')
      const successor = Number((await server.event(server.pid, 'successor-ready')).successorPid)
      assert.equal((await server.event(server.pid, 'draining')).active, 1)
      // one byte every 100 ms: 2.7 s in all, nearly three graces, never 1 s without a byte
      for (const byte of request) {
        socket.write(byte)
        await new Promise((r) => setTimeout(r, 100))
      }
      await closed
      assert.match(got, /^HTTP\/1\.1 200 OK\r\n/, `the old process answered (got ${JSON.stringify(got)})`)
      assert.match(got, /\r\nConnection: close\r\n/i)
      assert.ok(got.includes(body), `the old process answered the whole request (got ${JSON.stringify(got)})`)
      await server.event(server.pid, 'drained')
      await server.exited
      await server.stop(successor)
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('an upgraded connection (here an echo protocol, as a WebSocket would be) is not closed by the idle grace; it keeps the old process until it closes', async () => {
    const dir = tempDir()
    const config = writeJson(path.join(dir, 'http.json'), { bind: 'tcp://127.0.0.1:0', readyTimeoutMs: 60_000, idleGraceMs: 300, drainTimeoutMs: 60_000 })
    const server = new ServerProcess([path.join(DIST, 'test/fixtures/upgradeHttp.js'), config])
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      const upgraded = await new Promise<net.Socket>((resolve, reject) => {
        const socket = netConnect({ host: '127.0.0.1', port }, () => socket.write('GET / HTTP/1.1\r\nHost: x\r\nUpgrade: echo\r\nConnection: Upgrade\r\n\r\n'))
        let head = ''
        const onData = (d: Buffer): void => {
          head += d.toString()
          if (!head.includes('\r\n\r\n')) return
          socket.removeListener('data', onData)
          if (head.startsWith('HTTP/1.1 101')) resolve(socket)
          else reject(new Error(`no upgrade: ${head}`))
        }
        socket.on('data', onData).once('error', reject)
      })
      const echo = (text: string): Promise<string> =>
        new Promise((resolve) => {
          upgraded.once('data', (d: Buffer) => resolve(d.toString()))
          upgraded.write(text)
        })
      assert.equal(await echo('before\n'), 'before\n')
      // an idle kept-alive connection: when the server closes it, the grace has passed for both
      const keptClosed = (await keepOneAlive(port, agent)).closed

      process.kill(server.pid, 'SIGUSR1')
      const successor = Number((await server.event(server.pid, 'successor-ready')).successorPid)
      assert.equal((await server.event(server.pid, 'draining')).active, 2)
      await keptClosed
      assert.equal(await echo('after the grace\n'), 'after the grace\n', 'the upgraded connection is still served by the old process')
      assert.ok(!isGone(server.pid), 'the upgraded connection keeps the old process')
      upgraded.end()
      await server.event(server.pid, 'drained')
      await server.exited
      await server.stop(successor)
    } finally {
      agent.destroy()
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("Node's headersTimeout still protects the server: a client that never finishes its headers gets 408", async () => {
    const dir = tempDir()
    const config = writeJson(path.join(dir, 'http.json'), { bind: 'tcp://127.0.0.1:0' })
    const server = new ServerProcess([path.join(DIST, 'test/fixtures/timeoutHttp.js'), config])
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      await server.waitForText((l) => l === 'app: listening', "the application's 'listening' handler")
      const reply = await new Promise<string>((resolve, reject) => {
        let got = ''
        const socket = netConnect({ host: '127.0.0.1', port }, () => socket.write('GET / HTTP/1.1\r\nHost: x\r\n')) // no blank line: headers never end
        socket.on('data', (d: Buffer) => (got += d.toString()))
        socket.setTimeout(30_000, () => socket.destroy()) // hang guard: without the check, nothing ever comes
        socket.once('close', () => resolve(got))
        socket.once('error', reject)
      })
      assert.match(reply, /^HTTP\/1\.1 408 Request Timeout/)
      process.kill(server.pid, 'SIGTERM')
      assert.equal((await server.closed).code, 0)
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("the application's http.Server gets 'listening' only once the socket serves: not when the start fails", async () => {
    const dir = tempDir()
    const other = netServer()
    await new Promise<void>((resolve) => other.listen(0, '127.0.0.1', resolve))
    const address = other.address()
    assert.ok(address !== null && typeof address === 'object')
    const config = writeJson(path.join(dir, 'http.json'), { bind: `tcp://127.0.0.1:${address.port}` })
    const server = new ServerProcess([path.join(DIST, 'test/fixtures/timeoutHttp.js'), config])
    try {
      assert.equal((await server.closed).code, 1)
      assert.match(server.text.join('\n'), /address in use/)
      assert.deepStrictEqual(server.text.filter((l) => l.startsWith('app:')), [], 'the application was not told it listens')
    } finally {
      other.close()
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('an Express app is served unchanged across a restart', async () => {
    const dir = tempDir()
    const config = writeJson(path.join(dir, 'http.json'), { bind: `unix://${dir}/app.sock`, readyTimeoutMs: 60_000 })
    const server = new ServerProcess([path.join(DIST, 'test/fixtures/expressApp.js'), config])
    const ask = (urlPath: string): Promise<Reply> =>
      new Promise((resolve, reject) => {
        http
          .get({ socketPath: `${dir}/app.sock`, path: urlPath }, (res) => {
            let body = ''
            res.setEncoding('utf8')
            res.on('data', (d: string) => (body += d))
            res.on('end', () => resolve({ status: res.statusCode ?? 0, body, connection: res.headers.connection }))
          })
          .on('error', reject)
      })
    try {
      await server.event(server.pid, 'listening')
      assert.deepStrictEqual(JSON.parse((await ask('/')).body), { pid: server.pid })
      assert.equal((await ask('/missing')).status, 404)
      process.kill(server.pid, 'SIGUSR1')
      const successor = Number((await server.event(server.pid, 'successor-ready')).successorPid)
      await server.exited
      assert.deepStrictEqual(JSON.parse((await ask('/')).body), { pid: successor })
      await server.stop(successor)
      assert.deepStrictEqual(fs.readdirSync(dir), ['http.json'])
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
