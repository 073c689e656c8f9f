/**
 * Socket activation: started by `systemd-socket-activate` (Debian's systemd package), which binds the
 * address, sets LISTEN_FDS and LISTEN_PID, and execs the server when the first client connects. The
 * server adopts the socket instead of binding, passes it on at every restart, and refuses a config
 * whose addresses and the passed sockets disagree. An adopted privileged port needs no root.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { exchange, startLoad, uniqueLine } from '../support/echoLoad'
import { type CommandRun, ECHO, freePort, runCli, ServerProcess, tempDir, writeJson } from '../support/harness'
import { isRoot, Unprivileged } from '../support/unprivileged'

const ACTIVATE = '/usr/bin/systemd-socket-activate'
const missing = fs.existsSync(ACTIVATE) ? false : `${ACTIVATE} is not installed (Debian's systemd package has it)`

const cli = (args: readonly string[]): Promise<CommandRun> => runCli(args)

/** The server as systemd-socket-activate starts it: on the first connection, which is then served. */
const activated = async (address: number | string, command: readonly string[]): Promise<ServerProcess> => {
  const server = new ServerProcess(['-l', typeof address === 'number' ? `127.0.0.1:${address}` : address, ...command], { command: ACTIVATE })
  await server.waitForText((l) => l.startsWith('Listening on'), 'systemd-socket-activate to listen')
  return server
}

const RESTARTS = 10
const nobody = new Unprivileged()
after(() => nobody.remove())

describe('socket activation', { timeout: 240_000, skip: missing }, () => {
  for (const workers of [undefined, 2] as const) {
    it(`${workers === undefined ? 'standalone' : 'supervising 2 workers'}: adopts the passed socket, and ${RESTARTS} confirmed restarts under load lose nothing`, async (t) => {
      const dir = tempDir()
      const port = await freePort()
      const config = writeJson(path.join(dir, 'echo.json'), {
        bind: `tcp://127.0.0.1:${port}`,
        controlPath: path.join(dir, 'control.sock'),
        probationMs: 100,
        readyTimeoutMs: 60_000,
        ...(workers !== undefined ? { workers } : {}),
      })
      const server = await activated(port, [process.execPath, ECHO, config])
      const target = { host: '127.0.0.1', port }
      try {
        // the first client makes systemd-socket-activate start the server, which serves it
        assert.deepStrictEqual(await exchange(target, uniqueLine('first'), 60_000), { ok: true })
        const listening = await server.waitFor((l) => l.event === 'listening' && (workers === undefined || l.supervisor === true), 'listening')
        assert.equal(listening.bind, `tcp://127.0.0.1:${port}`)
        const load = startLoad(target, 16)
        for (let i = 0; i < RESTARTS; i++) {
          const r = await cli(['restart', config])
          assert.equal(r.code, 0, r.stderr)
        }
        const stats = await load.stop()
        t.diagnostic(`socket activation, ${workers ?? 1} process(es) serving: ${RESTARTS} confirmed restarts, ${stats.exchanges} exchanges, ${stats.failed} failed ${JSON.stringify(stats.byKind)}`)
        assert.deepStrictEqual(stats.examples, [])
        assert.equal((await cli(['stop', config])).code, 0)
      } finally {
        server.killAll()
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })
  }

  it('a UNIX socket whose path has spaces is adopted, served, passed on at a restart, and its file left to systemd', async () => {
    const dir = tempDir()
    const folder = path.join(dir, 'dir with space')
    fs.mkdirSync(folder)
    const sock = path.join(folder, 's.sock')
    const config = writeJson(path.join(dir, 'echo.json'), { bind: `unix://${sock}`, controlPath: path.join(dir, 'control.sock'), probationMs: 100, readyTimeoutMs: 60_000 })
    const server = await activated(sock, [process.execPath, ECHO, config])
    try {
      const first = await exchange({ path: sock }, uniqueLine('first'), 60_000)
      if (!first.ok) await server.closed // the refusal is on its stderr
      assert.deepStrictEqual(first, { ok: true }, server.text.join('\n'))
      const listening = await server.waitFor((l) => l.event === 'listening', 'listening')
      assert.equal(listening.bind, `unix://${sock}`)
      assert.equal(listening.inherited, true, 'the passed socket, not one of its own')
      const r = await cli(['restart', config])
      assert.equal(r.code, 0, r.stderr)
      assert.deepStrictEqual(await exchange({ path: sock }, uniqueLine('after'), 60_000), { ok: true })
      assert.equal((await cli(['stop', config])).code, 0)
      assert.ok(fs.statSync(sock).isSocket(), "systemd's socket file stays")
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a config whose bind is not among the passed sockets is refused, naming both', async () => {
    const dir = tempDir()
    const port = await freePort()
    const other = await freePort()
    const config = writeJson(path.join(dir, 'echo.json'), { bind: `tcp://127.0.0.1:${other}` })
    const server = await activated(port, [process.execPath, ECHO, config])
    try {
      await exchange({ host: '127.0.0.1', port }, uniqueLine('wake'), 30_000)
      await server.closed
      assert.ok(
        server.text.some((l) => l.includes(`socket activation: tcp://127.0.0.1:${other} is not among the sockets systemd passed (fd 3: tcp://127.0.0.1:${port})`)),
        server.text.join('\n'),
      )
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a privileged port passed by systemd is served by a server that is not root', async (t) => {
    if (!isRoot()) {
      t.skip('needs root, for systemd-socket-activate to bind port 999 and the server to run as nobody')
      return
    }
    const problem = nobody.problem()
    if (problem !== undefined) {
      t.skip(problem)
      return
    }
    const dir = tempDir()
    fs.chmodSync(dir, 0o755)
    const config = writeJson(path.join(dir, 'echo.json'), { bind: 'tcp://127.0.0.1:999' })
    fs.chmodSync(config, 0o644)
    const server = await activated(999, ['/usr/bin/setpriv', '--reuid=65534', '--regid=65534', '--clear-groups', nobody.node(), nobody.file(), config])
    try {
      assert.deepStrictEqual(await exchange({ host: '127.0.0.1', port: 999 }, uniqueLine('privileged'), 60_000), { ok: true })
      const listening = await server.waitFor((l) => l.event === 'listening', 'listening')
      const uid = /^Uid:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${listening.pid}/status`, 'utf8'))?.[1]
      assert.equal(uid, '65534', 'the server runs as nobody')
      process.kill(listening.pid, 'SIGTERM')
      await server.closed
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
