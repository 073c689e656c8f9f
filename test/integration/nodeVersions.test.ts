/**
 * What differs between Node versions, on the Node this runs on (CI runs the suite on 20, 22, 24 and 26):
 * restart signals on every generation (Node 22.14+ has a flag that blocks SIGUSR1 for good: it is never
 * used), signals in a new process's first instants (Node's own boot, before any JavaScript), Node's
 * compile cache across deploys, no deprecation warning, and what an unsupported version says.
 */
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import nodeModule from 'node:module'
import * as net from 'node:net'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { startLoad } from '../support/echoLoad'
import { CLI, DIST, ECHO, readPid, ROOT, ServerProcess, tempDir, testEnv, until, waitGone, writeJson } from '../support/harness'

const LIBRARY = path.join(DIST, 'lib/index.js')

interface Setup {
  readonly dir: string
  readonly pidfile: string
  readonly socketPath: string
  readonly config: string
}

const setup = (extra: Record<string, unknown> = {}): Setup => {
  const dir = tempDir()
  const s = { dir, pidfile: path.join(dir, 'echo.pid'), socketPath: path.join(dir, 'echo.sock'), config: path.join(dir, 'echo.json') }
  writeJson(s.config, { bind: `unix://${s.socketPath}`, pidfilePath: s.pidfile, probationMs: 0, readyTimeoutMs: 60_000, ...extra })
  return s
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

/** Stops the generation the pidfile names; waits until every process of the server is gone. */
const stopAll = async (s: Setup, server: ServerProcess): Promise<void> => {
  await server.stop(readPid(s.pidfile))
  for (const p of server.pids()) await waitGone(p)
}

const count = (server: ServerProcess, event: string, pid?: number): number => server.lines.filter((l) => l.event === event && (pid === undefined || l.pid === pid)).length

describe(`restart signals on Node ${process.version}`, () => {
  it('25 SIGUSR1s back to back at each of 10 restarts, each to the pid the pidfile names then: one handoff each, nothing lost, no inspector', async (t) => {
    const s = setup()
    const server = ServerProcess.echo(s.config)
    let load: ReturnType<typeof startLoad> | undefined
    try {
      await server.event(server.pid, 'listening')
      load = startLoad({ path: s.socketPath }, 16)
      let ignored = 0
      for (let round = 0; round < 10; round++) {
        const current = readPid(s.pidfile)
        for (let i = 0; i < 25; i++) process.kill(readPid(s.pidfile), 'SIGUSR1')
        const handed = await server.event(current, 'handed-over')
        await server.event(current, 'exit')
        const next = Number(handed.successorPid)
        assert.equal(readPid(s.pidfile), next)
        assert.equal(count(server, 'restart-requested', current), 1, `round ${round}: one restart`)
        ignored += count(server, 'restart-ignored', current)
      }
      const stats = await load.stop()
      t.diagnostic(`10 rounds of 25 SIGUSR1: 10 handoffs, ${ignored} signals logged as ignored (the kernel merges pending duplicates), ${stats.exchanges} exchanges, ${stats.failed} failed`)
      assert.deepStrictEqual(stats.examples, [])
      assert.equal(count(server, 'handed-over'), 10)
      assert.ok(!server.text.some((l) => l.includes('Debugger listening')), 'no inspector was opened')
      assert.ok(await inspectorRefuses(), 'nothing listens on the inspector port')
      await stopAll(s, server)
    } finally {
      await load?.stop()
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })

  it('restartSignal SIGHUP: 20 restarts under load lose nothing', async (t) => {
    const s = setup({ restartSignal: 'SIGHUP' })
    const server = ServerProcess.echo(s.config)
    let load: ReturnType<typeof startLoad> | undefined
    try {
      await server.event(server.pid, 'listening')
      load = startLoad({ path: s.socketPath }, 16)
      for (let i = 0; i < 20; i++) {
        const current = readPid(s.pidfile)
        process.kill(current, 'SIGHUP')
        await server.event(current, 'exit')
      }
      const stats = await load.stop()
      t.diagnostic(`20 SIGHUP restarts: ${stats.exchanges} exchanges, ${stats.failed} failed`)
      assert.deepStrictEqual(stats.examples, [])
      assert.equal(count(server, 'handed-over'), 20)
      await stopAll(s, server)
    } finally {
      await load?.stop()
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })

  it('a first generation whose restart signal is blocked (node --disable-sigusr1 on Node 22.14+) refuses to start, saying why', { skip: process.allowedNodeEnvironmentFlags.has('--disable-sigusr1') ? false : `Node ${process.version} has no --disable-sigusr1` }, async () => {
    const s = setup()
    const run = spawnSync(process.execPath, ['--disable-sigusr1', ECHO, s.config], { encoding: 'utf8', env: testEnv(), timeout: 60_000 })
    try {
      assert.equal(run.status, 1)
      assert.match(run.stderr, /restartSignal SIGUSR1 is blocked in this process.*--disable-sigusr1.*set restartSignal to another signal/)
      assert.ok(!fs.existsSync(s.socketPath), 'nothing was bound')
      // with another restart signal, the flag is welcome: SIGUSR1 then never opens the inspector
      writeJson(s.config, { bind: `unix://${s.socketPath}`, pidfilePath: s.pidfile, restartSignal: 'SIGUSR2' })
      const server = new ServerProcess(['--disable-sigusr1', ECHO, s.config])
      try {
        await server.event(server.pid, 'listening')
        await stopAll(s, server)
      } finally {
        server.killAll()
      }
    } finally {
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })
})

describe(`signals in a new process's first instants, on Node ${process.version}`, () => {
  // The signal is sent the moment the old process logs that it started the successor: Node is then
  // still booting, before any JavaScript (the preload's listener) can run, or just after. Before the
  // preload and the respawn, such a signal failed every one of these restarts (HUP, USR2) or left the
  // inspector open on 127.0.0.1:9229 (USR1).
  for (const signal of ['SIGHUP', 'SIGUSR2', 'SIGUSR1'] as const) {
    it(`${signal} sent to each new process as soon as it exists, 10 restarts: every restart succeeds, nothing is lost, no inspector stays open`, async (t) => {
      const s = setup()
      const server = ServerProcess.echo(s.config)
      let load: ReturnType<typeof startLoad> | undefined
      try {
        await server.event(server.pid, 'listening')
        load = startLoad({ path: s.socketPath }, 8)
        for (let i = 0; i < 10; i++) {
          const current = readPid(s.pidfile)
          const seen = server.lines.length
          process.kill(current, 'SIGUSR1')
          // the first process this restart starts gets the signal at once (a respawn is left alone: a
          // sender that kills every new process can stop any restart)
          const spawned = await server.waitFor((l) => l.pid === current && l.event === 'successor-spawned' && server.lines.indexOf(l) >= seen, 'the successor')
          try {
            process.kill(Number(spawned.successorPid), signal)
          } catch {
            // already gone
          }
          await server.event(current, 'exit')
        }
        const stats = await load.stop()
        const respawned = count(server, 'killed-while-booting')
        const opened = server.text.filter((l) => l.includes('Debugger listening')).length
        const closed = count(server, 'inspector-closed')
        t.diagnostic(`${signal}: 10 restarts, ${respawned} successor(s) killed while Node booted and started again, inspector opened ${opened} time(s) and closed ${closed}, ${stats.exchanges} exchanges, ${stats.failed} failed`)
        assert.equal(count(server, 'handed-over'), 10)
        assert.equal(count(server, 'successor-failed'), 0)
        assert.deepStrictEqual(stats.examples, [])
        assert.equal(closed, opened, 'every inspector a signal opened was closed')
        assert.ok(await inspectorRefuses(), 'nothing listens on the inspector port')
        await stopAll(s, server)
      } finally {
        await load?.stop()
        server.killAll()
        fs.rmSync(s.dir, { recursive: true, force: true })
      }
    })
  }

  it('supervised: SIGHUP sent to each new worker as soon as it exists, 10 restarts of 2 workers: every restart succeeds, nothing is lost', async (t) => {
    const s = setup({ workers: 2, logLevel: 'debug' })
    const server = ServerProcess.echo(s.config)
    let load: ReturnType<typeof startLoad> | undefined
    try {
      await server.waitFor((l) => l.event === 'listening' && l.supervisor === true, 'the supervisor serving')
      load = startLoad({ path: s.socketPath }, 8)
      for (let generation = 2; generation <= 11; generation++) {
        const seen = server.lines.length
        process.kill(server.pid, 'SIGUSR1')
        // the first process started in each slot of the new generation gets the signal at once
        for (const slot of [0, 1]) {
          const spawned = await server.waitFor(
            (l) => l.event === 'worker-spawned' && l.generation === generation && l.worker === slot && server.lines.indexOf(l) >= seen,
            `worker ${slot} of generation ${generation}`,
          )
          try {
            process.kill(Number(spawned.workerPid), 'SIGHUP')
          } catch {
            // already gone
          }
        }
        await server.waitFor((l) => l.event === 'generation-replaced' && l.generation === generation, `generation ${generation} serving`)
      }
      const stats = await load.stop()
      t.diagnostic(`10 supervised restarts: ${count(server, 'killed-while-booting')} worker(s) killed while Node booted and started again, ${stats.exchanges} exchanges, ${stats.failed} failed`)
      assert.equal(count(server, 'generation-failed'), 0)
      assert.deepStrictEqual(stats.examples, [])
      await stopAll(s, server)
    } finally {
      await load?.stop()
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })

  it('what the preload adds to NODE_OPTIONS never reaches what the application spawns', async () => {
    const s = setup()
    const dir = s.dir
    const script = path.join(dir, 'server.js')
    fs.writeFileSync(
      script,
      `const { serve } = require(${JSON.stringify(LIBRARY)})
serve(process.argv[2], (socket) => socket.end(JSON.stringify({ NODE_OPTIONS: process.env.NODE_OPTIONS ?? null, keys: Object.keys(process.env).filter((k) => k.startsWith('UNINTERRUPTIBLE_')) }) + '\\n'))`,
    )
    const server = new ServerProcess([script, s.config], { env: testEnv({ NODE_OPTIONS: '--max-old-space-size=200' }) })
    try {
      await server.event(server.pid, 'listening')
      process.kill(server.pid, 'SIGUSR1')
      const handed = await server.event(server.pid, 'handed-over')
      await server.event(server.pid, 'exit')
      const reply = await new Promise<string>((resolve) => {
        const c = net.connect(s.socketPath)
        let got = ''
        c.on('data', (d: Buffer) => (got += d.toString())).once('close', () => resolve(got))
      })
      assert.deepStrictEqual(JSON.parse(reply), { NODE_OPTIONS: '--max-old-space-size=200', keys: [] })
      const environ = fs.readFileSync(`/proc/${Number(handed.successorPid)}/environ`, 'utf8')
      assert.ok(environ.includes('--require='), 'the successor itself was started with the preload')
      await stopAll(s, server)
    } finally {
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })
})

describe(`Node's compile cache, on Node ${process.version}`, () => {
  const hasCache = typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function'

  it('a module changed between two restarts is served as changed, from a cache only this user may write', { skip: hasCache ? false : `Node ${process.version} has no compile cache` }, async () => {
    const s = setup()
    const cache = path.join(s.dir, 'cache')
    writeJson(s.config, { bind: `unix://${s.socketPath}`, pidfilePath: s.pidfile, probationMs: 0, compileCache: cache })
    const answer = path.join(s.dir, 'answer.js')
    const script = path.join(s.dir, 'server.js')
    fs.writeFileSync(answer, `module.exports = 'release 1'\n`)
    fs.writeFileSync(script, `const { serve } = require(${JSON.stringify(LIBRARY)})\nconst answer = require('./answer')\nserve(process.argv[2], (socket) => socket.end(answer + '\\n'))\n`)
    const ask = (): Promise<string> =>
      new Promise((resolve) => {
        const c = net.connect(s.socketPath)
        let got = ''
        c.on('data', (d: Buffer) => (got += d.toString())).once('close', () => resolve(got.trim()))
      })
    const restart = async (): Promise<void> => {
      const current = readPid(s.pidfile)
      process.kill(current, 'SIGUSR1')
      await server.event(current, 'exit')
    }
    const server = new ServerProcess([script, s.config])
    try {
      await server.event(server.pid, 'listening')
      await restart() // generation 2 compiles with the cache on, and writes it once it serves
      await restart() // generation 3 starts from it
      assert.equal(await ask(), 'release 1')
      const entries = fs.readdirSync(cache, { recursive: true }).length
      assert.ok(entries > 0, 'the cache folder holds compiled code')
      assert.equal(fs.statSync(cache).mode & 0o777, 0o700)
      fs.writeFileSync(answer, `module.exports = 'release 2'\n`) // a deploy: same name, new content
      await restart()
      assert.equal(await ask(), 'release 2')
      fs.writeFileSync(answer, `module.exports = 'release 3'\n`)
      await restart()
      assert.equal(await ask(), 'release 3')
      await stopAll(s, server)
    } finally {
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })

  it("the library's own code cache: the first successor compiles and saves it (0600), the next ones start from it; a library.js edited in place (same length) is compiled afresh and runs as edited", async () => {
    const s = setup()
    const cache = path.join(s.dir, 'cache')
    writeJson(s.config, { bind: `unix://${s.socketPath}`, pidfilePath: s.pidfile, probationMs: 0, compileCache: cache, logLevel: 'debug' })
    // a copy of the package's files, so that this test may edit its bundle
    const lib = path.join(s.dir, 'pkg', 'lib')
    fs.mkdirSync(lib, { recursive: true })
    for (const f of ['index.js', 'library.js', 'preload.js']) fs.copyFileSync(path.join(DIST, 'lib', f), path.join(lib, f))
    fs.symlinkSync(path.join(ROOT, 'node_modules'), path.join(s.dir, 'pkg', 'node_modules'))
    const script = path.join(s.dir, 'server.js')
    fs.writeFileSync(script, `const { serve } = require(${JSON.stringify(path.join(lib, 'index.js'))})\nserve(process.argv[2], (socket) => socket.end('ok\\n'))\n`)
    const server = new ServerProcess([script, s.config])
    const cached = (): string[] => fs.readdirSync(cache).filter((f) => f.startsWith('library-'))
    /** Restarts; what the new generation's start-up says of the library's code, and its listening line. */
    const restart = async (): Promise<{ code: unknown; listening: string }> => {
      const current = readPid(s.pidfile)
      process.kill(current, 'SIGUSR1')
      await server.event(current, 'exit')
      const next = readPid(s.pidfile)
      const timeline = await server.event(next, 'startup-timeline')
      return { code: timeline.libraryCode, listening: (await server.event(next, 'listening')).msg }
    }
    try {
      await server.event(server.pid, 'listening')
      assert.equal((await restart()).code, 'compiled')
      await until(() => cached().length === 1, 'the first successor saving the code cache')
      const [file] = cached()
      assert.equal(fs.statSync(path.join(cache, file ?? '')).mode & 0o777, 0o600)
      assert.equal((await restart()).code, 'cached')
      assert.equal((await restart()).code, 'cached')
      // a bundle edited where it lies, to the same length: V8 alone would take the old code for it
      const bundle = path.join(lib, 'library.js')
      const before = fs.readFileSync(bundle, 'utf8')
      const edited = before.replace('listening on ', 'LISTENING on ')
      assert.ok(edited !== before && edited.length === before.length)
      fs.writeFileSync(bundle, edited)
      const afterEdit = await restart()
      assert.deepStrictEqual([afterEdit.code, afterEdit.listening.slice(0, 12)], ['compiled', 'LISTENING on'])
      const again = await restart()
      assert.deepStrictEqual([again.code, again.listening.slice(0, 12)], ['cached', 'LISTENING on'])
      await stopAll(s, server)
    } finally {
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })

  it('a cache folder others may write is not used: said once, and restarts go on', async () => {
    const s = setup()
    const cache = path.join(s.dir, 'open-cache')
    fs.mkdirSync(cache)
    fs.chmodSync(cache, 0o777)
    writeJson(s.config, { bind: `unix://${s.socketPath}`, pidfilePath: s.pidfile, probationMs: 0, compileCache: cache })
    const server = ServerProcess.echo(s.config)
    try {
      await server.event(server.pid, 'listening')
      process.kill(server.pid, 'SIGUSR1')
      const off = await server.event(server.pid, 'compile-cache-off')
      assert.match(String(off.reason), /may be written by others \(mode 777\)/)
      await server.event(server.pid, 'exit')
      assert.deepStrictEqual(fs.readdirSync(cache), [])
      await stopAll(s, server)
    } finally {
      server.killAll()
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })
})

describe(`no deprecation warning on Node ${process.version}`, () => {
  for (const workers of [undefined, 2]) {
    it(`a ${workers === undefined ? 'standalone' : 'supervised'} restart and stop under --throw-deprecation --pending-deprecation`, async () => {
      const s = setup(workers !== undefined ? { workers } : {})
      const server = new ServerProcess(['--throw-deprecation', '--pending-deprecation', ECHO, s.config])
      try {
        const listening = await server.event(server.pid, 'listening')
        const supervisor = listening.supervisor === true
        process.kill(readPid(s.pidfile), 'SIGUSR1')
        if (supervisor) await server.waitFor((l) => l.event === 'generation-replaced', 'the new generation')
        else await server.event(server.pid, 'exit')
        await stopAll(s, server)
        const closed = await server.closed
        assert.equal(closed.code, 0)
        assert.deepStrictEqual(server.text.filter((l) => /Deprecation|DEP\d{4}/.test(l)), [])
      } finally {
        server.killAll()
        fs.rmSync(s.dir, { recursive: true, force: true })
      }
    })
  }
})

describe('an unsupported Node version', () => {
  const old = process.env.UNINTERRUPTIBLE_OLD_NODE
  const skip = old === undefined || !fs.existsSync(old) ? 'UNINTERRUPTIBLE_OLD_NODE names no Node binary older than 20.11 (.ci/run sets it to a Node 18)' : false

  it('serve and the command say which version they need, in one line, without a stack trace', { skip }, () => {
    const s = setup()
    try {
      const serve = spawnSync(old ?? '', [ECHO, s.config], { encoding: 'utf8', env: testEnv(), timeout: 60_000 })
      assert.equal(serve.status, 1)
      assert.match(serve.stderr, /^uninterruptible: this is Node\.js v\d+\.\d+\.\d+; the library needs Node\.js 20\.11 or later \(22, 24 or 26 recommended\)\n$/)
      const cli = spawnSync(old ?? '', [CLI, 'status', '--control', s.socketPath], { encoding: 'utf8', timeout: 60_000 })
      assert.equal(cli.status, 2)
      assert.match(cli.stderr, /^uninterruptible: this is Node\.js v\d+\.\d+\.\d+; the library needs Node\.js 20\.11 or later/)
      assert.ok(!fs.existsSync(s.socketPath), 'nothing was bound')
    } finally {
      fs.rmSync(s.dir, { recursive: true, force: true })
    }
  })
})
