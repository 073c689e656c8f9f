/**
 * The control socket under abuse, with real servers and clients: a client that pipelines status
 * requests by the hundred thousand and never reads the replies, and many such clients at once. The
 * server's memory stays bounded (its VmRSS is sampled while it happens), the abusive connections are
 * closed with a logged reason, and a client that asks one request at a time is still answered while an
 * abusive one is connected.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { ControlConnection } from '../support/controlClient'
import { HANG_MS, readPid, ServerProcess, tempDir, until as harnessUntil, writeJson } from '../support/harness'

/** How much a server may grow while it is flooded: generous (the unbounded server grew by hundreds of MB). */
const CEILING_MB = 100

const rssMb = (pid: number): number => {
  const m = /^VmRSS:\s+(\d+) kB$/m.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))
  return Number(m?.[1] ?? NaN) / 1024
}

/** Samples `pid`'s VmRSS until stopped (memory gives no event): the highest seen. */
const sampleRss = (pid: number): { readonly stop: () => number } => {
  let peak = rssMb(pid)
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssMb(pid))
    } catch {
      // gone
    }
  }, 20)
  return {
    stop: () => {
      clearInterval(timer)
      return Math.max(peak, rssMb(pid))
    },
  }
}

interface Flood {
  /** Settles once everything was written, or the server closed the connection. */
  readonly done: Promise<void>
  /** Starts reading what the server sent (until then, its replies pile up at the server). */
  readonly consume: () => void
  /** What was read. */
  readonly got: () => string
  readonly closed: () => boolean
  readonly socket: net.Socket
}

/** A client that writes `count` status requests at once and reads nothing until told to (or at once, with `reading`). */
const flood = (controlPath: string, count: number, reading = false): Flood => {
  const socket = net.connect({ path: controlPath })
  let got = ''
  let closed = false
  socket.setEncoding('utf8')
  socket.on('data', (d: string) => (got += d))
  if (!reading) socket.pause()
  const done = new Promise<void>((resolve) => {
    socket.on('error', () => resolve())
    socket.once('close', () => {
      closed = true
      resolve()
    })
    socket.once('connect', () => {
      const lines: string[] = []
      for (let i = 0; i < count; i++) lines.push(`{"id":${i},"op":"status"}\n`)
      socket.write(lines.join(''), () => resolve())
    })
  })
  return { done, consume: () => socket.resume(), got: () => got, closed: () => closed, socket }
}

/** Waits for the server to close the flooding connection (with a hang guard: an unbounded server never does). */
const closedByServer = (f: Flood, what: string): Promise<void> =>
  new Promise<void>((resolve, reject) => {
    if (f.closed()) {
      resolve()
      return
    }
    const timer = setTimeout(() => reject(new Error(`hung waiting for the server to close ${what}`)), HANG_MS)
    f.socket.once('close', () => {
      clearTimeout(timer)
      resolve()
    })
  })

interface Setup {
  readonly dir: string
  readonly config: string
  readonly controlPath: string
  readonly pidfile: string
}

const setup = (workers: boolean): Setup => {
  const dir = tempDir()
  const config = path.join(dir, 'echo.json')
  const controlPath = path.join(dir, 'control.sock')
  const pidfile = path.join(dir, 'echo.pid')
  // warn: no line per request (a line each would slow the unbounded server down, and its growth with it); closed connections are logged at warn
  writeJson(config, { bind: 'tcp://127.0.0.1:0', controlPath, pidfilePath: pidfile, logLevel: 'warn', ...(workers ? { workers: 2 } : {}) })
  return { dir, config, controlPath, pidfile }
}

/** The pid of the server once it serves: the pidfile is written then. */
const started = async (s: Setup): Promise<number> => {
  await harnessUntil(() => fs.existsSync(s.pidfile), 'the pidfile')
  return readPid(s.pidfile)
}

/** `p`, or a failure naming `what` once HANG_MS has passed. */
const guard = <A>(p: Promise<A>, what: string): Promise<A> => {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`hung waiting for ${what}`)), HANG_MS))),
  ])
}

/** Polls `check` until it holds (state that gives no event), with the harness's hang guard. */
const until = async (check: () => Promise<boolean>, what: string): Promise<void> => {
  const deadline = Date.now() + HANG_MS
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`hung waiting for ${what}`)
    await new Promise((r) => setTimeout(r, 20))
  }
}

const askStatus = async (controlPath: string, id: string): Promise<void> => {
  const c = await ControlConnection.open(controlPath)
  try {
    const r = await guard(c.ask('status', id), `the reply to ${id}`)
    assert.ok(r?.ok === true && r.id === id, `a well-behaved client is answered: ${JSON.stringify(r)}`)
  } finally {
    c.close()
  }
}

for (const workers of [true, false]) {
  const mode = workers ? 'supervised' : 'standalone'
  describe(`control socket limits, ${mode}`, { timeout: 240_000 }, () => {
    it('200,000 pipelined status requests never read: memory stays bounded, the connection is closed with a logged reason, and a client asking one at a time is answered meanwhile', async (t) => {
      const s = setup(workers)
      const server = ServerProcess.echo(s.config)
      try {
        const pid = await started(s)
        const before = rssMb(pid)
        const rss = sampleRss(pid)
        // one client that stays within the limits but never reads, and one that floods
        const quiet = flood(s.controlPath, 16)
        const abuser = flood(s.controlPath, 200_000)
        await askStatus(s.controlPath, 'meanwhile')
        // once all is written (the server discards what comes after it has closed), the client reads, to see the close
        await abuser.done
        abuser.consume()
        const closing = closedByServer(abuser, 'the flooding connection').then(
          () => undefined,
          (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
        )
        await askStatus(s.controlPath, 'after')
        const notClosed = await closing // memory is sampled until then, or for as long as the hang guard lets an unbounded server grow
        const peak = rss.stop()
        t.diagnostic(`${mode} VmRSS: ${before.toFixed(1)} MB before, peak ${peak.toFixed(1)} MB during 200,000 pipelined requests`)
        assert.ok(peak - before < CEILING_MB, `grew by ${(peak - before).toFixed(1)} MB (from ${before.toFixed(1)} to ${peak.toFixed(1)})`)
        if (notClosed !== undefined) throw notClosed
        const closedLine = await server.waitFor((l) => l.event === 'control-closed', 'control-closed')
        assert.equal(closedLine.reason, 'too-many-requests')

        // a client that pipelines 20 requests and reads: told why, then closed
        const eager = flood(s.controlPath, 20)
        eager.consume()
        await closedByServer(eager, 'a connection with 20 requests at once')
        assert.deepStrictEqual(
          eager.got().trim().split('\n').map((l) => JSON.parse(l) as unknown),
          [{ id: null, ok: false, error: { code: 'limit', message: 'at most 16 requests may wait for their replies on one connection: read the replies before sending more' } }],
        )
        assert.equal(quiet.closed(), false, 'a client within the limits stays connected, although it reads nothing')
        quiet.socket.destroy()
      } finally {
        server.killAll()
        fs.rmSync(s.dir, { recursive: true, force: true })
      }
    })

    it('a request line longer than 64 KiB: an error reply, the connection closed, and logged', async () => {
      const s = setup(workers)
      const server = ServerProcess.echo(s.config)
      try {
        await started(s)
        const c = net.connect({ path: s.controlPath })
        let got = ''
        c.setEncoding('utf8')
        c.on('data', (d: string) => (got += d))
        c.on('error', () => undefined)
        c.write(`{"op":"status","id":"${'x'.repeat(70 * 1024)}`)
        await guard(new Promise((resolve) => c.once('close', resolve)), 'the server to close a connection with a line too long')
        assert.deepStrictEqual(JSON.parse(got) as unknown, { id: null, ok: false, error: { code: 'bad-request', message: 'a request line may be 65536 bytes at most' } })
        const closed = await server.waitFor((l) => l.event === 'control-closed', 'control-closed')
        assert.equal(closed.reason, 'line-too-long')
        await askStatus(s.controlPath, 'after')
      } finally {
        server.killAll()
        fs.rmSync(s.dir, { recursive: true, force: true })
      }
    })

    it('200 connections: 64 held open (the most there may be) and 136 more pipelining 1,000 requests each: those are refused with a logged reason, memory stays bounded, and a client gets in once the others have gone', async (t) => {
      const s = setup(workers)
      const server = ServerProcess.echo(s.config)
      const held: ControlConnection[] = []
      try {
        const pid = await started(s)
        const before = rssMb(pid)
        const rss = sampleRss(pid)
        // 64 connections, each answered once (so the server has accepted it), then holding 16 requests
        for (let i = 0; i < 64; i++) {
          const c = await ControlConnection.open(s.controlPath)
          held.push(c)
          const r = await guard(c.ask('status', `held-${i}`), `a reply on held connection ${i}`)
          assert.equal(r?.ok, true, JSON.stringify(r))
        }
        for (const c of held) c.socket.write(Array.from({ length: 16 }, (_, i) => `{"id":${i},"op":"status"}\n`).join(''))
        // these read (a connection refused with input unread is reset: what was read before that is kept)
        const floods = Array.from({ length: 136 }, () => flood(s.controlPath, 1000, true))
        await guard(Promise.all(floods.map((f) => f.done)), 'the flooding clients to have written')
        const notClosed = await Promise.all(floods.map((f, i) => closedByServer(f, `flooding connection ${i}`))).then(
          () => undefined,
          (err: unknown) => (err instanceof Error ? err : new Error(String(err))),
        )
        const peak = rss.stop()
        t.diagnostic(`${mode} VmRSS: ${before.toFixed(1)} MB before, peak ${peak.toFixed(1)} MB with 64 connections held and 136 of 1,000 pipelined requests`)
        assert.ok(peak - before < CEILING_MB, `grew by ${(peak - before).toFixed(1)} MB (from ${before.toFixed(1)} to ${peak.toFixed(1)})`)
        if (notClosed !== undefined) throw notClosed
        // each is told why, but for those refused while 64 others were still closing: those are closed at once (and may be reset)
        const refusal = `${JSON.stringify({ id: null, ok: false, error: { code: 'limit', message: '64 control connections are open, the most there may be; try again once one has closed' } })}\n`
        for (const [i, f] of floods.entries()) assert.ok(f.got() === refusal || f.got() === '', `connection ${i}: ${f.got()}`)
        const told = floods.filter((f) => f.got() === refusal).length
        t.diagnostic(`${told} of 136 connections past the limit read why`)
        assert.ok(told >= 64, `${told} of 136 told why`)
        const closedLine = await server.waitFor((l) => l.event === 'control-closed' && l.reason === 'too-many-connections', 'control-closed, too-many-connections')
        assert.equal(closedLine.connections, 64)
        assert.ok(held.every((c) => !c.socket.destroyed), 'the connections within the limit stay')

        for (const c of held) c.socket.end()
        await guard(Promise.all(held.map((c) => c.closed)), 'the held connections to close')
        // the server counts a connection gone once its side has closed too: ask until it has
        await until(async () => {
          const c = await ControlConnection.open(s.controlPath)
          try {
            return (await guard(c.ask('status', 'after'), 'a reply after'))?.ok === true
          } finally {
            c.close()
          }
        }, 'a client answered once the others have gone')
      } finally {
        for (const c of held) c.close()
        server.killAll()
        fs.rmSync(s.dir, { recursive: true, force: true })
      }
    })
  })
}
