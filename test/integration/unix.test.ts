/**
 * UNIX socket files: a stale one (nobody answering) is replaced, a live one is refused and left
 * alone, and at the final stop the file is removed only if it is still the one this server bound.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { exchange, startLoad, uniqueLine } from '../support/echoLoad'
import { ServerProcess, tempDir, writeJson } from '../support/harness'

const listenUnix = (p: string): Promise<net.Server> =>
  new Promise((resolve, reject) => {
    const s = net.createServer((c) => c.end('other\n'))
    s.once('error', reject)
    s.listen(p, () => resolve(s))
  })

/** A socket file nobody answers on, as a crash leaves it: a process binds it and is killed. */
const leaveStaleSocket = (p: string): void => {
  const script = `require('net').createServer().listen(${JSON.stringify(p)}, () => process.kill(process.pid, 'SIGKILL'))`
  const r = spawnSync(process.execPath, ['-e', script])
  assert.equal(r.signal, 'SIGKILL')
  assert.ok(fs.lstatSync(p).isSocket(), 'a stale socket file')
}

describe('UNIX socket files', { timeout: 120_000 }, () => {
  it('a stale socket file is replaced; a live one is refused with "address in use" and left working', async () => {
    const dir = tempDir()
    const sock = path.join(dir, 'echo.sock')
    const config = writeJson(path.join(dir, 'echo.json'), { bind: `unix://${sock}`, pidfilePath: path.join(dir, 'echo.pid') })
    const first = ServerProcess.echo(config)
    let second: ServerProcess | undefined
    let third: ServerProcess | undefined
    try {
      await first.event(first.pid, 'listening')
      // a second server on the same path (with a pidfile of its own) is refused, and the first keeps serving
      second = ServerProcess.echo(writeJson(path.join(dir, 'second.json'), { bind: `unix://${sock}`, pidfilePath: path.join(dir, 'second.pid') }))
      assert.equal((await second.closed).code, 1)
      assert.match(second.text.join('\n'), /address in use: cannot listen on unix:\/\/.*echo\.sock: a live server accepts connections on this socket/)
      assert.deepStrictEqual(await exchange({ path: sock }, uniqueLine('first'), 30_000), { ok: true })

      // a crash leaves the socket file behind: the next start replaces it
      process.kill(first.pid, 'SIGKILL')
      await first.exited
      assert.ok(fs.lstatSync(sock).isSocket(), 'the crash left the socket file')
      third = ServerProcess.echo(config)
      await third.event(third.pid, 'stale-socket')
      await third.event(third.pid, 'listening')
      assert.deepStrictEqual(await exchange({ path: sock }, uniqueLine('third'), 30_000), { ok: true })
      process.kill(third.pid, 'SIGTERM')
      assert.equal((await third.exited).code, 0)
      assert.ok(!fs.existsSync(sock))
    } finally {
      first.killAll()
      second?.killAll()
      third?.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('two servers started at once on one path, absent or left stale by a crash: exactly one binds it, the other is refused', async () => {
    for (let round = 0; round < 10; round++) {
      const stale = round % 2 === 1
      const dir = tempDir()
      const sock = path.join(dir, 'echo.sock')
      const config = writeJson(path.join(dir, 'echo.json'), { bind: `unix://${sock}` })
      if (stale) leaveStaleSocket(sock)
      const servers = [ServerProcess.echo(config), ServerProcess.echo(config)]
      try {
        // each either listens or exits: wait for whichever comes first, per server
        const outcomes = await Promise.all(
          servers.map((s) =>
            Promise.race([
              s.event(s.pid, 'listening').then(
                () => 'listening',
                () => new Promise<string>(() => undefined), // its output ended: the exit below tells
              ),
              s.closed.then(({ code }) => `exit ${String(code)}`),
            ]),
          ),
        )
        assert.deepStrictEqual([...outcomes].sort(), ['exit 1', 'listening'], `round ${round} (${stale ? 'stale file' : 'no file'})`)
        const loser = servers[outcomes.indexOf('exit 1')]
        assert.match(loser?.text.join('\n') ?? '', /address in use: cannot listen on unix:\/\/.*echo\.sock/)
        assert.deepStrictEqual(await exchange({ path: sock }, uniqueLine('winner'), 30_000), { ok: true })
      } finally {
        for (const s of servers) s.killAll()
        fs.rmSync(dir, { recursive: true, force: true })
      }
    }
  })

  it('a stop under load: every connection the server accepted is served; new ones find no path (ENOENT)', async (t) => {
    const dir = tempDir()
    const sock = path.join(dir, 'echo.sock')
    const server = ServerProcess.echo(writeJson(path.join(dir, 'echo.json'), { bind: `unix://${sock}` }))
    let load: ReturnType<typeof startLoad> | undefined
    try {
      await server.event(server.pid, 'listening')
      load = startLoad({ path: sock }, 32)
      while (load.stats.exchanges < 2000) await new Promise((r) => setImmediate(r))
      process.kill(server.pid, 'SIGTERM')
      assert.equal((await server.closed).code, 0)
      const stats = await load.stop()
      load = undefined
      t.diagnostic(`stop under load: ${stats.exchanges} exchanges, ${stats.failed} failed ${JSON.stringify(stats.byKind)}; ${stats.examples.filter((e) => !e.startsWith('enoent')).join(' / ')}`)
      const { enoent, ...others } = stats.byKind
      assert.ok(enoent > 0, 'clients kept trying after the stop')
      assert.deepStrictEqual(others, { refused: 0, reset: 0, 'wrong-echo': 0, 'no-reply': 0, timeout: 0, other: 0 })
    } finally {
      server.killAll()
      await load?.stop()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a path that exists and is not a socket is refused and left alone', async () => {
    const dir = tempDir()
    const sock = path.join(dir, 'echo.sock')
    fs.writeFileSync(sock, 'precious')
    try {
      const server = ServerProcess.echo(writeJson(path.join(dir, 'echo.json'), { bind: `unix://${sock}` }))
      try {
        assert.equal((await server.closed).code, 1)
        assert.match(server.text.join('\n'), /the path exists and is not a socket; it is left alone/)
        assert.equal(fs.readFileSync(sock, 'utf8'), 'precious')
      } finally {
        server.killAll()
      }
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('at the final stop, a socket file that is no longer ours is left alone', async () => {
    const dir = tempDir()
    const sock = path.join(dir, 'echo.sock')
    const server = ServerProcess.echo(writeJson(path.join(dir, 'echo.json'), { bind: `unix://${sock}` }))
    let other: net.Server | undefined
    try {
      await server.event(server.pid, 'listening')
      // another server takes the path over (bound elsewhere, renamed onto it)
      other = await listenUnix(path.join(dir, 'other.sock'))
      fs.renameSync(path.join(dir, 'other.sock'), sock)
      process.kill(server.pid, 'SIGTERM')
      assert.equal((await server.exited).code, 0)
      const outcome = await server.event(server.pid, 'socket-file')
      assert.equal(outcome.outcome, 'replaced')
      assert.ok(fs.lstatSync(sock).isSocket(), "the other server's socket file is still there")
    } finally {
      other?.close()
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
