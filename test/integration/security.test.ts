/**
 * Security, with real processes: the socket file's mode, a pidfile symlink planted by someone else,
 * exactly which fds a successor gets, and that the listening socket and the inheritance variables never
 * reach anything but the configured start command.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { holdClients } from '../support/echoLoad'
import { DIST, ECHO, LogFile, portOf, readPid, ServerProcess, waitGone, withDir, writeJson } from '../support/harness'

/** fd number -> link target ("socket:[123]", "/dev/null", ...) of a process. */
const fdsOf = (pid: number): Map<number, string> =>
  new Map(fs.readdirSync(`/proc/${pid}/fd`).map((fd) => [Number(fd), fs.readlinkSync(`/proc/${pid}/fd/${fd}`)]))

/**
 * The fds a process holds without close-on-exec, above stdio: what it was itself given that way by
 * whatever started it. Every exec passes those on; Node opens its own with close-on-exec.
 */
const inheritableFds = (pid: number): Set<number> =>
  new Set(
    [...fdsOf(pid).keys()].filter((fd) => {
      if (fd <= 2) return false
      try {
        const flags = /^flags:\s+(\d+)/m.exec(fs.readFileSync(`/proc/${pid}/fdinfo/${fd}`, 'utf8'))?.[1] ?? '0'
        return (parseInt(flags, 8) & 0o2000000) === 0
      } catch {
        return false
      }
    }),
  )

/** Inodes of TCP sockets in a state, from /proc/net/tcp: '0A' is LISTEN, '01' ESTABLISHED. */
const tcpInodes = (state: '0A' | '01'): Set<string> =>
  new Set(
    fs
      .readFileSync('/proc/net/tcp', 'utf8')
      .split('\n')
      .slice(1)
      .map((l) => l.trim().split(/\s+/))
      .filter((cols) => cols[3] === state)
      .map((cols) => cols[9] ?? ''),
  )

const inodeOf = (target: string): string => /^socket:\[(\d+)\]$/.exec(target)?.[1] ?? ''

describe('security', { timeout: 120_000 }, () => {
  for (const [socketMode, expected] of [[undefined, 0o660], ['0600', 0o600]] as const) {
    it(`the socket file is created with mode ${expected.toString(8)} (${socketMode === undefined ? 'default' : `socketMode "${socketMode}"`}) and keeps it across a restart`, () =>
      withDir(async (dir) => {
        const sock = path.join(dir, 'echo.sock')
        const server = ServerProcess.echo(writeJson(path.join(dir, 'echo.json'), { bind: `unix://${sock}`, ...(socketMode !== undefined ? { socketMode } : {}) }))
        try {
          await server.event(server.pid, 'listening')
          assert.equal(fs.statSync(sock).mode & 0o777, expected)
          process.kill(server.pid, 'SIGUSR1')
          const ready = await server.event(server.pid, 'successor-ready')
          await server.exited
          assert.equal(fs.statSync(sock).mode & 0o777, expected)
          await server.stop(Number(ready.successorPid))
        } finally {
          server.killAll()
        }
      }))
  }

  it('a restart applies a changed socketMode to the same socket file', () =>
    withDir(async (dir) => {
      const sock = path.join(dir, 'echo.sock')
      const config = path.join(dir, 'echo.json')
      const server = ServerProcess.echo(writeJson(config, { bind: `unix://${sock}` }))
      try {
        await server.event(server.pid, 'listening')
        const before = fs.statSync(sock)
        assert.equal(before.mode & 0o777, 0o660)
        writeJson(config, { bind: `unix://${sock}`, socketMode: '0600' })
        process.kill(server.pid, 'SIGUSR1')
        const ready = await server.event(server.pid, 'successor-ready')
        await server.exited
        const after = fs.statSync(sock)
        assert.equal(after.ino, before.ino, 'the same socket file')
        assert.equal(after.mode & 0o777, 0o600)
        await server.stop(Number(ready.successorPid))
      } finally {
        server.killAll()
      }
    }))

  it('a symlink planted at the pidfile path is replaced, never written through', () =>
    withDir(async (dir) => {
      const pidfile = path.join(dir, 'echo.pid')
      const victim = path.join(dir, 'victim')
      fs.writeFileSync(victim, 'precious\n')
      fs.symlinkSync(victim, pidfile)
      const server = ServerProcess.echo(writeJson(path.join(dir, 'echo.json'), { bind: `unix://${dir}/echo.sock`, pidfilePath: pidfile }))
      try {
        await server.event(server.pid, 'listening')
        assert.ok(fs.lstatSync(pidfile).isFile(), 'the pidfile is a regular file now')
        assert.equal(readPid(pidfile), server.pid)
        assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n')
        await server.stop(server.pid)
        assert.ok(!fs.existsSync(pidfile))
        assert.equal(fs.readFileSync(victim, 'utf8'), 'precious\n')
      } finally {
        server.killAll()
      }
    }))

  it('a successor gets exactly stdio, the listening socket and the readiness pipe: no connection, no file', () =>
    withDir(async (dir) => {
      const go = path.join(dir, 'go')
      const config = path.join(dir, 'echo.json')
      writeJson(config, {
        bind: 'tcp://127.0.0.1:0',
        logPath: path.join(dir, 'echo.log'), // an open file the parent holds
        readyTimeoutMs: 60_000,
        startCommand: `while [ ! -e ${go} ]; do sleep 0.02; done; exec ${process.execPath} ${ECHO} ${config}`,
      })
      const server = ServerProcess.echo(config)
      const log = new LogFile(path.join(dir, 'echo.log'))
      try {
        const port = portOf(await log.waitFor((l) => l.event === 'listening', 'listening'))
        const held = await holdClients({ host: '127.0.0.1', port }, 2) // open connections the parent holds
        process.kill(server.pid, 'SIGUSR1')
        const spawned = Number((await log.waitFor((l) => l.event === 'successor-spawned', 'the successor')).successorPid)
        const child = fdsOf(spawned) // the sh wrapper, still waiting: exactly what it was given
        const passedThrough = inheritableFds(server.pid) // given to the parent without close-on-exec, if any
        assert.deepStrictEqual(
          [...child.keys()].filter((fd) => !passedThrough.has(fd)).sort((a, b) => a - b),
          [0, 1, 2, 3, 4],
        )
        assert.ok(tcpInodes('0A').has(inodeOf(child.get(3) ?? '')), 'fd 3 is a listening socket')
        const parentSockets = new Set([...fdsOf(server.pid).values()].map(inodeOf).filter((i) => i !== ''))
        assert.ok(parentSockets.has(inodeOf(child.get(3) ?? '')), "fd 3 is the parent's own listening socket")
        const established = tcpInodes('01')
        const connections = [...parentSockets].filter((i) => established.has(i))
        assert.ok(connections.length >= 2, 'the parent holds client connections')
        for (const [fd, target] of child) assert.ok(!connections.includes(inodeOf(target)), `fd ${fd} is not one of the parent's client connections`)
        assert.ok(![...child.values()].some((t) => t.endsWith('echo.log')), 'the log file is not passed')

        fs.writeFileSync(go, '')
        for (const o of await held.finish()) assert.deepStrictEqual(o, { ok: true })
        await server.exited
        process.kill(spawned, 'SIGTERM')
        await log.waitFor((l) => l.pid === spawned && l.event === 'exit', 'the successor to exit')
        await waitGone(spawned)
      } finally {
        log.killAll(server.pid)
      }
    }))

  it("neither the listening socket nor the UNINTERRUPTIBLE_* variables reach a subprocess of a successor's handler", () =>
    withDir(async (dir) => {
      const config = writeJson(path.join(dir, 'c.json'), { bind: 'tcp://127.0.0.1:0', readyTimeoutMs: 60_000 })
      const server = new ServerProcess([path.join(DIST, 'test/fixtures/spawner.js'), config])
      try {
        const port = portOf(await server.event(server.pid, 'listening'))
        process.kill(server.pid, 'SIGUSR1')
        const ready = await server.event(server.pid, 'successor-ready')
        await server.exited
        const successor = Number(ready.successorPid)
        const listening = inodeOf(fdsOf(successor).get(3) ?? '')
        assert.notEqual(listening, '', "the successor's fd 3 is its inherited listening socket")
        const report = await new Promise<string>((resolve, reject) => {
          let out = ''
          net
            .connect({ host: '127.0.0.1', port })
            .setEncoding('utf8')
            .on('data', (d: string) => (out += d))
            .on('end', () => resolve(out))
            .on('error', reject)
        })
        assert.match(report, /^\/proc\/self\/fd\/0 /m, 'the report lists fds')
        assert.ok(!report.includes(`socket:[${listening}]`), `the listening socket leaked:\n${report}`)
        assert.ok(!report.includes('UNINTERRUPTIBLE_'), `inheritance variables leaked:\n${report}`)
        await server.stop(successor)
      } finally {
        server.killAll()
      }
    }))
})
