/**
 * TLS, allowed networks and several listeners, with real processes and clients: restarts under load
 * where every exchange is a full handshake, certificate rotation by restart, client certificates,
 * refusals at start naming the key and the file, failed and stalled handshakes, HTTPS through
 * serveHttp, clients outside the allowed networks closed before and after a restart, and a server
 * listening on TCP and UNIX at once through restarts.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as https from 'node:https'
import * as net from 'node:net'
import * as path from 'node:path'
import * as tls from 'node:tls'
import { describe, it } from 'node:test'
import { makeCerts, makeServerCert, opensslMissing } from '../support/certs'
import { exchange, startLoad, type Target, uniqueLine } from '../support/echoLoad'
import { DIST, portOf, ServerProcess, tempDir, until, waitGone, writeJson } from '../support/harness'

const PEER = path.join(DIST, 'test/fixtures/peer.js')
const HTTP = path.join(DIST, 'examples/http.js')

/** Restarts by signal, waiting for the old process to be gone: returns the new pid. */
const restart = async (server: ServerProcess, pid: number): Promise<number> => {
  process.kill(pid, 'SIGUSR1')
  const ready = await server.waitFor((l) => l.pid === pid && l.event === 'successor-ready', `process ${pid} to hand over`)
  await server.event(pid, 'exit')
  await waitGone(pid)
  return Number(ready.successorPid)
}

/** The first line a client reads: what the peer fixture says about the connection. */
const peerInfo = (options: tls.ConnectionOptions | net.NetConnectOpts, secure: boolean): Promise<{ readonly line: string }> =>
  new Promise((resolve, reject) => {
    const socket = secure ? tls.connect(options as tls.ConnectionOptions) : net.connect(options as net.NetConnectOpts)
    let got = ''
    socket.setEncoding('utf8')
    socket.on('data', (d: string) => {
      const first = !got.includes('\n')
      got += d
      if (first && got.includes('\n')) socket.end('bye\n')
    })
    socket.on('error', reject)
    socket.on('close', () => resolve({ line: got.split('\n')[0] ?? '' }))
  })

const missing = opensslMissing()

describe('TLS', { timeout: 300_000, skip: missing }, () => {
  it('20 restarts under load, every exchange a full TLS handshake: nothing fails, nothing is left', async (t) => {
    const dir = tempDir()
    const certs = makeCerts(dir)
    const pidfile = path.join(dir, 'echo.pid')
    const config = writeJson(path.join(dir, 'echo.json'), { bind: 'tcp://127.0.0.1:0', pidfilePath: pidfile, probationMs: 100, readyTimeoutMs: 60_000, tls: { certPath: certs.server.cert, keyPath: certs.server.key } })
    const server = ServerProcess.echo(config)
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      const target: Target = { host: '127.0.0.1', port, tls: { ca: fs.readFileSync(certs.ca), servername: 'localhost' } }
      const load = startLoad(target, 16)
      let pid = server.pid
      for (let i = 0; i < 20; i++) {
        const before = load.stats.exchanges
        pid = await restart(server, pid)
        await until(() => load.stats.exchanges > before, 'exchanges across the restart')
      }
      const stats = await load.stop()
      t.diagnostic(`TLS echo: 20 restarts, ${stats.exchanges} exchanges (each a handshake), ${stats.failed} failed ${JSON.stringify(stats.byKind)}`)
      assert.deepStrictEqual(stats.examples, [])
      await server.stop(pid)
      assert.deepStrictEqual(fs.readdirSync(dir).filter((f) => !/\.(pem|key|csr|ext|srl)$/.test(f)).sort(), ['echo.json'])
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('rotation: replace the certificate and key, restart once: new connections present the new certificate, and nothing fails meanwhile', async () => {
    const dir = tempDir()
    const certs = makeCerts(dir, 'first.example')
    const certPath = path.join(dir, 'live.pem')
    const keyPath = path.join(dir, 'live.key')
    fs.copyFileSync(certs.server.cert, certPath)
    fs.copyFileSync(certs.server.key, keyPath)
    const config = writeJson(path.join(dir, 'echo.json'), { bind: 'tcp://127.0.0.1:0', probationMs: 100, readyTimeoutMs: 60_000, tls: { certPath, keyPath } })
    const server = ServerProcess.echo(config)
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      const options = { host: '127.0.0.1', port, ca: fs.readFileSync(certs.ca), servername: 'localhost' }
      /** The name on the certificate the server presents to a new connection. */
      const presented = (): Promise<string | undefined> =>
        new Promise((resolve, reject) => {
          const c = tls.connect(options, () => {
            resolve(String(c.getPeerCertificate().subject.CN))
            c.destroy()
          })
          c.on('error', reject)
        })
      assert.equal(await presented(), 'first.example')
      const next = makeServerCert(dir, 'second', 'second.example')
      fs.copyFileSync(next.cert, certPath)
      fs.copyFileSync(next.key, keyPath)
      assert.equal(await presented(), 'first.example', 'the running generation read its files when it started')
      const load = startLoad({ host: '127.0.0.1', port, tls: { ca: fs.readFileSync(certs.ca), servername: 'localhost' } }, 8)
      const pid = await restart(server, server.pid)
      const stats = await load.stop()
      assert.deepStrictEqual(stats.examples, [])
      assert.equal(await presented(), 'second.example')
      await server.stop(pid)
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('client certificates required: a client without one is refused, one signed by another CA too; one signed by the CA is served and the handler sees its subject', async () => {
    const dir = tempDir()
    const certs = makeCerts(dir)
    const config = writeJson(path.join(dir, 'echo.json'), {
      bind: 'tcp://127.0.0.1:0',
      tls: { certPath: certs.server.cert, keyPath: certs.server.key, caPath: certs.ca, clientCertificates: 'require' },
    })
    const server = new ServerProcess([PEER, config])
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      const base = { host: '127.0.0.1', port, ca: fs.readFileSync(certs.ca), servername: 'localhost' }
      const served = await peerInfo({ ...base, cert: fs.readFileSync(certs.client.cert), key: fs.readFileSync(certs.client.key) }, true)
      assert.deepStrictEqual(JSON.parse(served.line), { listener: `tcp://127.0.0.1:${port}`, generation: 1, authorized: true, subject: 'client one' })
      // refused: in TLS 1.3 the client finishes its side first and then hears the alert (or just the close)
      const refused = async (options: tls.ConnectionOptions): Promise<string> => (await peerInfo(options, true).catch((e: unknown) => ({ line: `error: ${String(e)}` }))).line
      assert.match(await refused(base), /^$|certificate required|ECONNRESET/)
      assert.match(await refused({ ...base, cert: fs.readFileSync(certs.stranger.cert), key: fs.readFileSync(certs.stranger.key) }), /^$|unknown ca|ECONNRESET/)
      const failed = await server.waitFor((l) => l.event === 'tls-handshake-failed', 'the refused handshake to be logged')
      assert.match(String(failed.remote), /127\.0\.0\.1:\d+$/)
      assert.ok(!server.eventsOf(server.pid).includes('handler-failed'), 'a failed handshake is no handler failure')
      await server.stop(server.pid)
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a plain client talking to TLS, and a stalled handshake (handshakeTimeoutMs): both closed and logged with the address; the server serves on', async () => {
    const dir = tempDir()
    const certs = makeCerts(dir)
    const config = writeJson(path.join(dir, 'echo.json'), { bind: 'tcp://127.0.0.1:0', logLevel: 'debug', tls: { certPath: certs.server.cert, keyPath: certs.server.key, handshakeTimeoutMs: 300 } })
    const server = ServerProcess.echo(config)
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      const closed = (write: string | undefined): Promise<void> =>
        new Promise((resolve) => {
          const c = net.connect(port, '127.0.0.1', () => (write !== undefined ? c.write(write) : undefined))
          c.on('error', () => undefined)
          c.resume()
          c.on('close', () => resolve())
        })
      await closed('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
      await server.waitFor((l) => l.event === 'tls-handshake-failed' && /http request/i.test(l.msg), 'the plain request to be logged')
      await closed(undefined) // sends nothing: the handshake times out
      await server.waitFor((l) => l.event === 'tls-handshake-failed' && /timed? ?out/i.test(l.msg), 'the stalled handshake to be logged')
      assert.deepStrictEqual(await exchange({ host: '127.0.0.1', port, tls: { ca: fs.readFileSync(certs.ca), servername: 'localhost' } }, uniqueLine('after'), 30_000), { ok: true })
      await server.stop(server.pid)
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a missing, unreadable or mismatched file is refused at start, naming the key and the file', async () => {
    const dir = tempDir()
    const certs = makeCerts(dir)
    const other = makeServerCert(dir, 'other', 'other')
    const cases: readonly [Record<string, unknown>, RegExp][] = [
      [{ certPath: path.join(dir, 'nope.pem'), keyPath: certs.server.key }, /cannot use tls\.certPath \(.*nope\.pem\): the file does not exist/],
      [{ certPath: certs.server.cert, keyPath: other.key }, /cannot use tls\.keyPath \(.*other\.key\): it does not match tls\.certPath/],
      [{ certPath: certs.server.cert, keyPath: certs.server.key, caPath: path.join(dir, 'server.ext') }, /cannot use tls\.caPath \(.*server\.ext\): not a usable PEM file/],
      [{ certPath: dir, keyPath: certs.server.key }, /cannot use tls\.certPath \(.*\): it is a folder/],
    ]
    try {
      for (const [tlsConfig, message] of cases) {
        const config = writeJson(path.join(dir, 'echo.json'), { bind: 'tcp://127.0.0.1:0', tls: tlsConfig })
        const server = ServerProcess.echo(config)
        assert.equal((await server.closed).code, 1)
        assert.match(server.text.join('\n'), message)
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('HTTPS through serveHttp: keep-alive requests through 5 restarts are all answered', async () => {
    const dir = tempDir()
    const certs = makeCerts(dir)
    const config = writeJson(path.join(dir, 'http.json'), { bind: 'tcp://127.0.0.1:0', probationMs: 100, idleGraceMs: 500, readyTimeoutMs: 60_000, tls: { certPath: certs.server.cert, keyPath: certs.server.key } })
    const server = new ServerProcess([HTTP, config])
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      const agent = new https.Agent({ keepAlive: true, maxSockets: 4, ca: fs.readFileSync(certs.ca), servername: 'localhost' })
      let running = true
      const outcomes = { ok: 0, failed: [] as string[] }
      const loop = async (): Promise<void> => {
        while (running) {
          await new Promise<void>((resolve) => {
            https
              .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
                let body = ''
                res.on('data', (d: Buffer) => (body += d.toString()))
                res.on('end', () => {
                  if (res.statusCode === 200 && body.startsWith('hello from pid')) outcomes.ok += 1
                  else outcomes.failed.push(`${String(res.statusCode)} ${body}`)
                  resolve()
                })
              })
              .on('error', (e) => {
                outcomes.failed.push(e.message)
                resolve()
              })
          })
        }
      }
      const loops = Array.from({ length: 4 }, loop)
      let pid = server.pid
      for (let i = 0; i < 5; i++) {
        const before = outcomes.ok
        pid = await restart(server, pid)
        await until(() => outcomes.ok > before, 'requests across the restart')
      }
      running = false
      await Promise.all(loops)
      agent.destroy()
      assert.deepStrictEqual(outcomes.failed, [])
      assert.ok(outcomes.ok > 0)
      await server.stop(pid)
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('allowed networks', { timeout: 120_000 }, () => {
  it('with ["127.0.0.1/32"]: a client from 127.0.0.1 is served, one from 127.0.0.2 is closed unanswered, before and after a restart', async () => {
    const dir = tempDir()
    const config = writeJson(path.join(dir, 'echo.json'), { bind: 'tcp://127.0.0.1:0', probationMs: 100, allowedNetworks: ['127.0.0.1/32'], logLevel: 'debug' })
    const server = ServerProcess.echo(config)
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      const from = (localAddress: string): Promise<string> =>
        new Promise((resolve) => {
          const c = net.connect({ port, host: '127.0.0.1', localAddress }, () => c.write('hi\n'))
          let got = ''
          c.setEncoding('utf8')
          c.on('data', (d: string) => (got += d))
          c.on('error', () => undefined)
          c.on('close', () => resolve(got))
        })
      let pid = server.pid
      for (const round of ['before', 'after'] as const) {
        assert.equal(await from('127.0.0.1'), 'hi\n', `127.0.0.1 is served ${round} the restart`)
        assert.equal(await from('127.0.0.2'), '', `127.0.0.2 is closed ${round} the restart`)
        const refused = await server.waitFor((l) => l.pid === pid && l.event === 'client-refused' && l.level === 20, 'the refusal at debug')
        assert.equal(refused.remote, '127.0.0.2')
        if (round === 'before') {
          assert.equal((await server.waitFor((l) => l.pid === pid && l.event === 'client-refused' && l.level === 40, 'the warning')).count, 1)
          pid = await restart(server, pid)
        }
      }
      await server.stop(pid)
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('several listeners', { timeout: 180_000 }, () => {
  it('TCP and UNIX at once: 10 restarts with load on both lose nothing; handlers know the listener; the socket file goes after TERM', async (t) => {
    const dir = tempDir()
    const socketPath = path.join(dir, 'echo.sock')
    const config = writeJson(path.join(dir, 'echo.json'), { bind: ['tcp://127.0.0.1:0', `unix://${socketPath}`], probationMs: 100, readyTimeoutMs: 60_000 })
    const server = new ServerProcess([PEER, config])
    try {
      const listening = await server.event(server.pid, 'listening')
      const port = portOf(listening)
      assert.deepStrictEqual(listening.binds, [`tcp://127.0.0.1:${port}`, `unix://${socketPath}`])
      assert.equal((JSON.parse((await peerInfo({ host: '127.0.0.1', port }, false)).line) as { listener: string }).listener, `tcp://127.0.0.1:${port}`)
      assert.equal((JSON.parse((await peerInfo({ path: socketPath }, false)).line) as { listener: string }).listener, `unix://${socketPath}`)
      await server.stop(server.pid)

      // the echo example, with load on both listeners at once
      const echo = ServerProcess.echo(config)
      const port2 = portOf(await echo.event(echo.pid, 'listening'))
      const tcpLoad = startLoad({ host: '127.0.0.1', port: port2 }, 12)
      const unixLoad = startLoad({ path: socketPath }, 12)
      let pid = echo.pid
      for (let i = 0; i < 10; i++) {
        const before = [tcpLoad.stats.exchanges, unixLoad.stats.exchanges]
        pid = await restart(echo, pid)
        await until(() => tcpLoad.stats.exchanges > (before[0] ?? 0) && unixLoad.stats.exchanges > (before[1] ?? 0), 'exchanges on both listeners')
      }
      const [tcpStats, unixStats] = [await tcpLoad.stop(), await unixLoad.stop()]
      t.diagnostic(`two listeners, 10 restarts: TCP ${tcpStats.exchanges} exchanges, ${tcpStats.failed} failed; UNIX ${unixStats.exchanges} exchanges, ${unixStats.failed} failed`)
      assert.deepStrictEqual([...tcpStats.examples, ...unixStats.examples], [])
      await echo.stop(pid)
      assert.ok(!fs.existsSync(socketPath), 'the socket file is removed after TERM')
      echo.killAll()
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
