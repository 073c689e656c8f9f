/**
 * Faults found by using the server as users and operators do: a handler that never reads, a log
 * destination that fails, a restart at the file-descriptor limit, stray signals, new code that crashes
 * right after it became ready, two servers given one pidfile, and symlinked release folders. Each test
 * runs real processes, signals and clients.
 */
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { exchange, holdClients, startLoad, uniqueLine } from '../support/echoLoad'
import { startHttpLoad } from '../support/httpLoad'
import {
  DIST,
  ECHO,
  fdCount,
  freePort,
  isGone,
  killEverything,
  portOf,
  readPid,
  ServerProcess,
  tempDir,
  testEnv,
  until,
  waitGone,
  writeJson,
} from '../support/harness'

const fixture = (name: string): string => path.join(DIST, `test/fixtures/${name}.js`)

interface Setup {
  readonly dir: string
  readonly pidfile: string
  readonly config: string
}

const setup = (extra: Record<string, unknown> = {}): Setup => {
  const dir = tempDir()
  const pidfile = path.join(dir, 'server.pid')
  const config = writeJson(path.join(dir, 'server.json'), { bind: 'tcp://127.0.0.1:0', pidfilePath: pidfile, readyTimeoutMs: 60_000, ...extra })
  return { dir, pidfile, config }
}

/** Waits until the pidfile names a process other than `old`, and returns it. */
const nextPid = async (pidfile: string, old: number): Promise<number> => {
  let pid = old
  await until(() => {
    try {
      pid = readPid(pidfile)
    } catch {
      return false
    }
    return pid !== old
  }, `the pidfile to name a process other than ${old}`)
  return pid
}

/** Connects, sends a line, reads up to the first newline, closes; resolves with what was read. */
const askOnce = (port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.write('hello\n'))
    let got = ''
    socket.setEncoding('utf8')
    socket.on('data', (d: string) => {
      got += d
      if (got.includes('\n')) socket.end()
    })
    socket.on('error', reject)
    socket.on('close', () => resolve(got))
  })

/** Connects and closes at once. */
const hangUp = (port: number): Promise<void> =>
  new Promise((resolve) => {
    const socket = net.connect(port, '127.0.0.1', () => socket.end())
    socket.on('error', () => undefined)
    socket.on('close', () => resolve())
  })

describe('a handler that answers without reading its input', { timeout: 180_000 }, () => {
  it('leaks nothing: each socket closes once the handler is done and the client has gone, and a stop drains, logs and cleans up', async (t) => {
    const s = setup()
    const server = new ServerProcess([fixture('unread'), s.config])
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      const baseline = fdCount(server.pid)
      for (let batch = 0; batch < 6; batch++) {
        const replies = await Promise.all(Array.from({ length: 50 }, () => askOnce(port)))
        assert.deepStrictEqual(new Set(replies), new Set(['ok\n']))
      }
      // before the fix the 300 sockets stayed open for good (their unread input kept them from seeing the client's FIN)
      await until(() => fdCount(server.pid) <= baseline + 5, `the server's open files to fall back to about ${baseline}`, 30_000)
      t.diagnostic(`open files: ${baseline} before 300 clients, ${fdCount(server.pid)} after they left`)
      process.kill(server.pid, 'SIGTERM')
      const draining = await server.event(server.pid, 'draining')
      assert.ok(Number(draining.active) <= 5, `${String(draining.active)} of 300 finished connections still open`)
      assert.equal((await server.event(server.pid, 'drained')).accepted, 300)
      assert.equal((await server.event(server.pid, 'exit')).code, 0)
      assert.equal((await server.exited).code, 0)
      assert.ok(!fs.existsSync(s.pidfile), 'the pidfile is removed')
    } finally {
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })

  it('a stop with such connections still open drains them and says so: the process never ends in silence mid-drain', async () => {
    const s = setup({ idleGraceMs: 200 })
    const server = new ServerProcess([fixture('unread'), s.config])
    const clients: net.Socket[] = []
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      // clients that send a line, read the answer, and keep their side open
      for (let i = 0; i < 20; i++) {
        const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
        c.on('error', () => undefined)
        clients.push(c)
        await new Promise<void>((resolve) => {
          c.once('data', () => resolve())
          c.write('unread line\n')
        })
      }
      process.kill(server.pid, 'SIGTERM')
      assert.equal((await server.event(server.pid, 'draining')).active, 20)
      assert.equal((await server.event(server.pid, 'drained')).accepted, 20)
      assert.equal((await server.event(server.pid, 'exit')).code, 0)
      assert.ok(!fs.existsSync(s.pidfile))
    } finally {
      for (const c of clients) c.destroy()
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })
  it('a stop while handlers that never read or settle hold their sockets: the drain ends, says why, and cleans up (it used to end in silence)', async () => {
    const s = setup()
    const server = new ServerProcess([fixture('stuck'), s.config])
    const clients: net.Socket[] = []
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      const baseline = fdCount(server.pid)
      // each client sends a line and its FIN, and keeps its socket to read an answer that never comes: the
      // server's socket has seen the end of input, unread, so nothing on it can wake the process any more
      for (let i = 0; i < 3; i++) {
        const c = net.connect({ port, host: '127.0.0.1', allowHalfOpen: true })
        c.on('error', () => undefined)
        clients.push(c)
        await new Promise((r) => c.once('connect', r))
        c.end('nobody reads this\n')
      }
      await until(() => fdCount(server.pid) >= baseline + 3, 'the server to accept the three clients')
      process.kill(server.pid, 'SIGTERM')
      const stalled = await server.event(server.pid, 'drain-stalled')
      assert.equal(stalled.active, 3)
      assert.equal((await server.event(server.pid, 'drained')).accepted, 3)
      assert.equal((await server.event(server.pid, 'exit')).code, 0)
      assert.ok(!fs.existsSync(s.pidfile), 'the pidfile is removed')
    } finally {
      for (const c of clients) c.destroy()
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })
})

describe('a log destination that fails', { timeout: 180_000 }, () => {
  it('the terminal that started the server goes away (EIO, and SIGHUP): the server and its restarts carry on', async (t) => {
    const s = setup()
    const port = await freePort()
    writeJson(s.config, { bind: `tcp://127.0.0.1:${port}`, pidfilePath: s.pidfile, readyTimeoutMs: 60_000, probationMs: 200 })
    // `script` gives the server a terminal (a pty) as stdout and stderr; killing `script` closes the
    // terminal: the server gets SIGHUP, and every later write to it fails with EIO
    const marker = `faults-eio-${process.pid}-${Date.now()}`
    const term = spawn('script', ['-qfec', `exec ${process.execPath} ${ECHO} ${s.config}`, '/dev/null'], {
      stdio: ['ignore', 'ignore', 'ignore'],
      env: testEnv({ UNI_TEST_RUN: marker }),
    })
    let first = 0
    try {
      await until(() => fs.existsSync(s.pidfile), 'the pidfile')
      first = readPid(s.pidfile)
      assert.equal(await askOnce(port), 'hello\n')
      term.kill('SIGKILL')
      await new Promise((r) => term.once('exit', r))
      assert.equal(await askOnce(port), 'hello\n', 'served after the terminal went away')
      assert.ok(!isGone(first), 'the server survived the hang-up')

      const load = startLoad({ host: '127.0.0.1', port }, 8)
      process.kill(first, 'SIGUSR1') // every line this restart logs fails with EIO
      const second = await nextPid(s.pidfile, first)
      await waitGone(first)
      const stats = await load.stop()
      t.diagnostic(`across the restart: ${stats.exchanges} exchanges, ${stats.failed} failed ${JSON.stringify(stats.byKind)}`)
      assert.deepStrictEqual(stats.examples, [])
      assert.equal(await askOnce(port), 'hello\n', 'the new generation serves')
      process.kill(second, 'SIGTERM')
      await waitGone(second)
      assert.ok(!fs.existsSync(s.pidfile), 'the last generation removed the pidfile')
    } finally {
      term.kill('SIGKILL')
      killEverything(first === 0 ? (term.pid ?? 0) : first, [], marker)
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })

  it('a log file on a full disk (ENOSPC: /dev/full): lines are dropped and said so once, and the server serves, fails handlers, restarts and stops', async () => {
    const s = setup()
    const port = await freePort()
    writeJson(s.config, { bind: `tcp://127.0.0.1:${port}`, pidfilePath: s.pidfile, logPath: '/dev/full', readyTimeoutMs: 60_000, probationMs: 200 })
    const server = new ServerProcess([fixture('faulty'), s.config])
    try {
      const notice = await server.waitForText((l) => l.includes('log'), 'a notice on stderr that log lines are dropped')
      assert.match(notice, /cannot write to the log \(\/dev\/full\): .*ENOSPC.*dropping log lines/)
      await until(() => fs.existsSync(s.pidfile), 'the pidfile')
      // the fixture's connections 1 to 4 fail their handlers (each failure is logged, and dropped), 5 and 6 outlive their clients
      for (let i = 1; i <= 4; i++) assert.equal(await askOnce(port), '', `connection ${i}: a failing handler`)
      for (let i = 5; i <= 6; i++) await hangUp(port)
      assert.equal(await askOnce(port), 'hello\n')
      process.kill(server.pid, 'SIGUSR1')
      const second = await nextPid(s.pidfile, server.pid)
      assert.equal((await server.exited).code, 0)
      process.kill(second, 'SIGTERM')
      await waitGone(second)
      assert.ok(!fs.existsSync(s.pidfile))
      assert.equal(server.text.filter((l) => l.includes('dropping log lines')).length, 2, 'said once per process')
    } finally {
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })
})

describe('a restart at the file-descriptor limit', { timeout: 180_000 }, () => {
  it('fails like any failed spawn: logged, and the old generation keeps serving what it holds', async () => {
    const s = setup()
    const limit = 64
    const server = new ServerProcess(['-e', `require('child_process').execFileSync('/bin/sh', ['-c', 'ulimit -n ${limit} && exec "$0" "$@"', process.execPath, ${JSON.stringify(ECHO)}, ${JSON.stringify(s.config)}], { stdio: 'inherit' })`])
    const held: net.Socket[] = []
    try {
      const listening = await server.waitFor((l) => l.event === 'listening', 'listening')
      const pid = listening.pid
      const port = portOf(listening)
      // hold connections until the server's file table is full
      while (fdCount(pid) < limit) {
        const c = net.connect(port, '127.0.0.1')
        c.on('error', () => undefined)
        held.push(c)
        await new Promise((r) => c.once('connect', r))
        if (held.length > limit * 2) break
      }
      await until(() => fdCount(pid) >= limit - 1, 'the file table to fill')
      process.kill(pid, 'SIGUSR1')
      const failed = await server.event(pid, 'successor-failed')
      assert.equal(failed.failure, 'spawn-failed')
      assert.match(String(failed.error), /EMFILE/)
      assert.ok(!isGone(pid), 'the server is still running')
      // the connections it accepted are still served
      const first = held[0]
      assert.ok(first !== undefined)
      const echoed = await new Promise<string>((resolve) => {
        first.setEncoding('utf8')
        first.once('data', resolve)
        first.write('still here\n')
      })
      assert.equal(echoed, 'still here\n')
      for (const c of held) c.destroy()
      await until(() => fdCount(pid) < limit - 10, 'the held connections to close')
      assert.deepStrictEqual(await exchange({ host: '127.0.0.1', port }, 'after\n', 30_000), { ok: true })
      await server.stop(pid)
    } finally {
      for (const c of held) c.destroy()
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })
})

describe('signals a server commonly receives', { timeout: 180_000 }, () => {
  it('SIGHUP and SIGUSR2 are logged and ignored, by the first generation and by a successor', async () => {
    const s = setup({ probationMs: 200 })
    const server = ServerProcess.echo(s.config)
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      const held = await holdClients({ host: '127.0.0.1', port }, 2)
      for (const signal of ['SIGHUP', 'SIGUSR2'] as const) {
        process.kill(server.pid, signal)
        const ignored = await server.waitFor((l) => l.pid === server.pid && l.event === 'signal-ignored' && l.signal === signal, `${signal} ignored`)
        assert.match(ignored.msg, new RegExp(`${signal} ignored`))
      }
      assert.deepStrictEqual(await held.finish(), [{ ok: true }, { ok: true }])
      process.kill(server.pid, 'SIGUSR1')
      const successor = Number((await server.event(server.pid, 'successor-ready')).successorPid)
      await server.event(successor, 'listening')
      for (const signal of ['SIGHUP', 'SIGUSR2'] as const) {
        process.kill(successor, signal)
        await server.waitFor((l) => l.pid === successor && l.event === 'signal-ignored' && l.signal === signal, `${signal} ignored by the successor`)
      }
      assert.deepStrictEqual(await exchange({ host: '127.0.0.1', port }, uniqueLine('after'), 30_000), { ok: true })
      assert.equal(readPid(s.pidfile), successor)
      await server.stop(successor)
      assert.ok(!fs.existsSync(s.pidfile))
    } finally {
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })
})

describe('new code that crashes right after it became ready', { timeout: 240_000 }, () => {
  for (const when of ['ready', '300'] as const) {
    it(`crashing ${when === 'ready' ? 'in the turn it reports ready' : '300 ms after it started'}: the old process takes the socket back and the service never goes down`, async (t) => {
      // the default probation for a crash in the ready turn; for a crash at a time, one long enough that a
      // loaded machine cannot let the probation end before the new process's own timer fires
      const s = setup(when === 'ready' ? {} : { probationMs: 10_000 })
      const flag = path.join(s.dir, 'crash')
      const server = new ServerProcess([fixture('crashAfterReady'), s.config], { env: testEnv({ CRASH_FLAG: flag }) })
      let load: ReturnType<typeof startHttpLoad> | undefined
      try {
        const port = portOf(await server.event(server.pid, 'listening'))
        load = startHttpLoad({ port, fullSpeed: 8, paused: 4, maxPauseMs: 20, body: /^hello from pid \d+\n$/ })
        fs.writeFileSync(flag, when)
        for (let attempt = 1; attempt <= 5; attempt++) {
          const before = server.lines.length
          process.kill(server.pid, 'SIGUSR1')
          const failed = await server.waitFor(
            (l) => server.lines.indexOf(l) >= before && l.pid === server.pid && l.event === 'successor-failed',
            `restart ${attempt} to fail`,
          )
          assert.equal(failed.failure, 'crashed-after-ready')
          assert.match(failed.msg, /still serving/)
          assert.equal(readPid(s.pidfile), server.pid, 'the pidfile names the old process again')
          await load.answered(50)
        }
        const stats = await load.stop()
        t.diagnostic(`5 crashed deploys: ${stats.ok} requests answered, ${stats.failed} failed ${JSON.stringify(stats.byKind)}`)
        assert.equal(stats.byKind.refused, 0, 'the service never went down')
        assert.ok(stats.failed <= stats.byKind.reset, `only requests the crashing process held can fail: ${stats.examples.join('; ')}`)
        fs.rmSync(flag)
        process.kill(server.pid, 'SIGUSR1')
        const ready = await server.waitFor((l) => l.pid === server.pid && l.event === 'successor-ready' && l.attempt === 6, 'the good deploy')
        await server.event(server.pid, 'exit')
        await server.stop(Number(ready.successorPid))
        assert.ok(!fs.existsSync(s.pidfile))
      } finally {
        await load?.stop()
        server.killAll()
        fs.rmSync(s.dir, { recursive: true, force: true })
      }
    })
  }
})

describe('two servers given one pidfile', { timeout: 120_000 }, () => {
  it('the second is refused while the first runs, and may start once the first has stopped; a stale pidfile is no obstacle', async () => {
    const s = setup()
    const first = ServerProcess.echo(s.config)
    const otherConfig = writeJson(path.join(s.dir, 'other.json'), { bind: 'tcp://127.0.0.1:0', pidfilePath: s.pidfile })
    let second: ServerProcess | undefined
    let third: ServerProcess | undefined
    try {
      await first.event(first.pid, 'listening')
      second = ServerProcess.echo(otherConfig)
      assert.equal((await second.exited).code, 1)
      await second.closed
      assert.ok(
        second.text.some((l) => l.includes(`the pidfile ${s.pidfile} names process ${first.pid}, a running server`)),
        second.text.join('\n'),
      )
      assert.equal(readPid(s.pidfile), first.pid, 'the first keeps its pidfile')
      await first.stop(first.pid)

      // a pidfile left by a crash names a process that is gone, or one that is no server (here, this test)
      fs.writeFileSync(s.pidfile, `${process.pid}\n`)
      third = ServerProcess.echo(otherConfig)
      await third.event(third.pid, 'listening')
      assert.equal(readPid(s.pidfile), third.pid)
      await third.stop(third.pid)
    } finally {
      first.killAll()
      second?.killAll()
      third?.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })
})

describe('symlinked release folders', { timeout: 120_000 }, () => {
  it('a restart runs the release `current` points to now, through the path the server was started with', async () => {
    const dir = tempDir()
    const port = await freePort()
    for (const release of ['1', '2']) {
      const folder = path.join(dir, 'releases', release)
      fs.mkdirSync(folder, { recursive: true })
      fs.writeFileSync(
        path.join(folder, 'server.js'),
        `require(${JSON.stringify(path.join(DIST, 'lib/index.js'))}).serve('config.json', (s) => { s.write('release ${release}\\n') })\n`,
      )
      writeJson(path.join(folder, 'config.json'), { bind: `tcp://127.0.0.1:${port}`, pidfilePath: path.join(dir, 'server.pid'), probationMs: 200 })
    }
    fs.symlinkSync(path.join(dir, 'releases', '1'), path.join(dir, 'current'))
    // as a deploy script starts it: through the shell, which sets PWD to the path as typed
    const server = new ServerProcess(['-e', `require('child_process').execFileSync('/bin/sh', ['-c', 'cd current && exec "$0" server.js config.json', process.execPath], { stdio: 'inherit' })`], { cwd: dir })
    try {
      const listening = await server.waitFor((l) => l.event === 'listening', 'listening')
      assert.equal(await askOnce(port), 'release 1\n')
      fs.unlinkSync(path.join(dir, 'current'))
      fs.symlinkSync(path.join(dir, 'releases', '2'), path.join(dir, 'current'))
      process.kill(listening.pid, 'SIGUSR1')
      const ready = await server.event(listening.pid, 'successor-ready')
      await server.event(listening.pid, 'exit')
      assert.equal(await askOnce(port), 'release 2\n')
      await server.stop(Number(ready.successorPid))
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a start command that drops the inherited socket (npm start closes fds above 2) fails the restart with a message that says so', async () => {
    const s = setup()
    fs.writeFileSync(path.join(s.dir, 'package.json'), JSON.stringify({ name: 'app', private: true, scripts: { start: `${process.execPath} ${ECHO} ${s.config}` } }))
    writeJson(s.config, { bind: 'tcp://127.0.0.1:0', pidfilePath: s.pidfile, readyTimeoutMs: 60_000, startCommand: `cd ${s.dir} && npm start --silent` })
    const server = ServerProcess.echo(s.config)
    try {
      await server.event(server.pid, 'listening')
      process.kill(server.pid, 'SIGUSR1')
      const failed = await server.event(server.pid, 'successor-failed')
      assert.equal(failed.exitCode, 1)
      await server.waitForText((l) => /cannot use the inherited listening socket \(fd 3\): .*the start command did not pass it on.*npm start/.test(l), 'the reason on stderr')
      await server.stop(server.pid)
    } finally {
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })
})
