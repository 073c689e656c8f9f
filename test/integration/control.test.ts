/**
 * Operator control with real processes: `uninterruptible restart` waits for the outcome and says it
 * with its exit code, under load, in both modes; a broken deploy makes it fail with the reason while the
 * old generation serves on; `status` counts connections and lists workers; `stop` returns once
 * everything has exited; the control socket refuses other users and answers garbage with an error.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { holdClients, startLoad, type Target } from '../support/echoLoad'
import { CLI, DIST, ECHO, isGone, portOf, runCli, ServerProcess, tempDir, until, writeJson } from '../support/harness'
import { nodeForNobody } from '../support/unprivileged'

const CRASH = path.join(DIST, 'test/fixtures/crash.js')

const cli = runCli

interface Server {
  readonly dir: string
  readonly config: string
  readonly server: ServerProcess
  readonly target: Target
  readonly broken: string
}

/** The echo server with a control socket, standalone or supervising 2 workers; a restart runs broken code while `broken` exists. */
const startServer = async (workers: boolean): Promise<Server> => {
  const dir = tempDir()
  fs.chmodSync(dir, 0o755)
  const config = path.join(dir, 'echo.json')
  const broken = path.join(dir, 'broken')
  writeJson(config, {
    bind: 'tcp://127.0.0.1:0',
    pidfilePath: path.join(dir, 'echo.pid'),
    controlPath: path.join(dir, 'control.sock'),
    probationMs: 100,
    readyTimeoutMs: 60_000,
    // a slow deploy waits while `slow` exists; a broken deploy's new code exits 3 at start
    startCommand: `while [ -e ${path.join(dir, 'slow')} ]; do sleep 0.05; done; if [ -e ${broken} ]; then ${process.execPath} ${CRASH}; exit 3; else exec ${process.execPath} ${ECHO} ${config}; fi`,
    ...(workers ? { workers: 2 } : {}),
  })
  const server = ServerProcess.echo(config)
  const listening = await server.event(server.pid, 'listening')
  return { dir, config, server, target: { host: '127.0.0.1', port: portOf(listening) }, broken }
}

const cleanup = (s: Server): void => {
  s.server.killAll()
  fs.rmSync(s.dir, { recursive: true, force: true })
}

interface StatusJson {
  readonly pid: number
  readonly generation: number
  readonly state: string
  readonly connections: { readonly active: number; readonly accepted: number }
  readonly lastRestart: { readonly result: string } | null
  readonly workers?: readonly { readonly pid: number; readonly generation: number; readonly connections: { readonly active: number } | null }[]
}

const status = async (config: string): Promise<StatusJson> => {
  const r = await cli(['status', config, '--json'])
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout) as StatusJson
}

const RESTARTS = 10

for (const mode of ['standalone', 'supervised'] as const) {
  describe(`control, ${mode}`, { timeout: 240_000 }, () => {
    it(`${RESTARTS} restarts through \`uninterruptible restart\` under load: each exits 0 once the new generation serves, and nothing fails`, async (t) => {
      const s = await startServer(mode === 'supervised')
      const load = startLoad(s.target, 16)
      try {
        for (let generation = 2; generation <= RESTARTS + 1; generation++) {
          const r = await cli(['restart', s.config])
          assert.equal(r.code, 0, r.stderr)
          const pids = /pids? ([\d, ]+)\)/.exec(r.stdout)?.[1]?.split(', ').map(Number) ?? []
          assert.match(r.stdout, new RegExp(`^restarted: generation ${generation} serves \\(pids? [\\d, ]+\\)\\n$`))
          assert.equal(pids.length, mode === 'supervised' ? 2 : 1)
          // it returned once the new generation serves: its processes are up, and the server says so
          for (const pid of pids) assert.ok(!isGone(pid), `pid ${pid} of generation ${generation} runs`)
          const st = await status(s.config)
          assert.equal(st.generation, generation)
          if (mode === 'supervised') assert.deepStrictEqual(st.workers?.filter((w) => w.generation === generation).map((w) => w.pid), pids)
          else assert.deepStrictEqual([st.pid], pids)
        }
        const stats = await load.stop()
        t.diagnostic(`${mode}: ${RESTARTS} confirmed restarts, ${stats.exchanges} exchanges, ${stats.failed} failed ${JSON.stringify(stats.byKind)}`)
        assert.deepStrictEqual(stats.examples, [])
        assert.ok(stats.exchanges > 0)

        const stopped = await cli(['stop', s.config])
        assert.equal(stopped.code, 0, stopped.stderr)
        const gone = /^stopped: pids? ([\d, ]+) exited\n$/.exec(stopped.stdout)?.[1]?.split(', ').map(Number) ?? []
        assert.ok(gone.length >= 1)
        for (const pid of gone) assert.ok(isGone(pid), `pid ${pid} is gone when stop returns`)
        await s.server.closed
        assert.deepStrictEqual(fs.readdirSync(s.dir).sort(), ['echo.json'], 'no pidfile, no control socket left')
      } finally {
        await load.stop()
        cleanup(s)
      }
    })

    it('a broken deploy: `restart` exits 1 with the exit code and the reason, the old generation serves on, and status still shows generation 1', async () => {
      const s = await startServer(mode === 'supervised')
      const load = startLoad(s.target, 8)
      try {
        fs.writeFileSync(s.broken, '')
        const r = await cli(['restart', s.config])
        assert.equal(r.code, 1)
        assert.match(r.stderr, /^restart failed: generation 2: .*exited with code 3 before it was ready \(it threw: broken deploy: thrown at import\)/)
        assert.match(r.stderr, /exitCode: 3/)
        const st = await status(s.config)
        assert.equal(st.generation, 1)
        assert.equal(st.lastRestart?.result, 'failed')
        const stats = await load.stop()
        assert.deepStrictEqual(stats.examples, [])
        fs.rmSync(s.broken)
        assert.equal((await cli(['restart', s.config])).code, 0)
        assert.equal((await cli(['stop', s.config])).code, 0)
      } finally {
        await load.stop()
        cleanup(s)
      }
    })

    it('a stop while the new code starts: `restart` exits 1 saying the server is stopping (not that the old generation serves on)', async () => {
      const s = await startServer(mode === 'supervised')
      try {
        fs.writeFileSync(path.join(s.dir, 'slow'), '') // the new code waits while this exists
        const restart = cli(['restart', s.config])
        if (mode === 'supervised') await s.server.waitFor((l) => l.pid === s.server.pid && l.event === 'restart-requested' && l.generation === 2, 'generation 2 to start')
        else await s.server.event(s.server.pid, 'successor-spawned')
        process.kill(s.server.pid, 'SIGTERM')
        const r = await restart
        assert.equal(r.code, 1, r.stderr)
        assert.equal(r.stderr, 'restart failed: generation 2: the server is stopping\n')
        assert.equal((await s.server.closed).code, 0)
      } finally {
        cleanup(s)
      }
    })

    it('status counts the connections held open (5), and lists each worker of a supervisor', async () => {
      const s = await startServer(mode === 'supervised')
      try {
        const held = await holdClients(s.target, 5)
        await until(() => s.server.lines.length > 0, 'the server to log')
        let st = await status(s.config)
        for (let i = 0; st.connections.active < 5 && i < 100; i++) st = await status(s.config) // accepted by the kernel before the server
        assert.equal(st.connections.active, 5)
        if (mode === 'supervised') {
          assert.equal(st.workers?.length, 2)
          assert.equal((st.workers ?? []).reduce((n, w) => n + (w.connections?.active ?? 0), 0), 5)
        } else assert.equal(st.workers, undefined)
        const human = await cli(['status', s.config])
        assert.match(human.stdout, /^connections\s+5 active, \d+ accepted$/m)
        await held.finish()
        assert.equal((await cli(['stop', s.config])).code, 0)
      } finally {
        cleanup(s)
      }
    })
  })
}

/** Rewrites the config file with `change` applied. */
const rewrite = (config: string, change: (c: Record<string, unknown>) => Record<string, unknown>): void => {
  writeJson(config, change(JSON.parse(fs.readFileSync(config, 'utf8')) as Record<string, unknown>))
}

describe('control, supervised: the control socket is kept across restarts', { timeout: 120_000 }, () => {
  it('a config that drops controlPath: the new workers refuse to start naming it, `restart` exits 1 with the reason, the old generation serves on', async () => {
    const s = await startServer(true)
    const load = startLoad(s.target, 4)
    try {
      const control = path.join(s.dir, 'control.sock')
      const old = (await status(s.config)).workers?.map((w) => w.pid) ?? []
      rewrite(s.config, ({ controlPath: _dropped, ...rest }) => rest)
      const r = await cli(['restart', '--control', control])
      assert.equal(r.code, 1)
      const why = "the config's controlPath was removed: a restart keeps the control socket, as it keeps the listening sockets; stop the server and start it again instead"
      assert.ok(r.stderr.startsWith('restart failed: generation 2: worker '), r.stderr)
      assert.ok(r.stderr.includes(`exited with code 1 before it was ready (${why}); the old generation serves on`), r.stderr)
      const failed = await s.server.event(s.server.pid, 'generation-failed')
      assert.ok(failed.msg.includes(why), failed.msg)
      const st = await cli(['status', '--control', control, '--json'])
      const after = JSON.parse(st.stdout) as StatusJson
      assert.equal(after.generation, 1)
      assert.deepStrictEqual(after.workers?.map((w) => w.pid), old)
      await until(() => load.stats.exchanges > 100, 'exchanges after the failed restart')
      const stats = await load.stop()
      assert.deepStrictEqual(stats.examples, [])
      assert.equal((await cli(['stop', '--control', control])).code, 0)
    } finally {
      await load.stop()
      cleanup(s)
    }
  })

  it('a config that adds controlPath: the new workers refuse to start naming it, the old generation serves on', async () => {
    const dir = tempDir()
    const config = writeJson(path.join(dir, 'echo.json'), { bind: 'tcp://127.0.0.1:0', pidfilePath: path.join(dir, 'echo.pid'), workers: 2, probationMs: 100, readyTimeoutMs: 60_000 })
    const server = ServerProcess.echo(config)
    let load: ReturnType<typeof startLoad> | undefined
    try {
      load = startLoad({ host: '127.0.0.1', port: portOf(await server.event(server.pid, 'listening')) }, 4)
      const old = server.lines.filter((l) => l.event === 'listening' && l.worker !== undefined).map((l) => l.pid)
      rewrite(config, (c) => ({ ...c, controlPath: path.join(dir, 'control.sock') }))
      process.kill(server.pid, 'SIGUSR1')
      const failed = await server.waitFor((l) => l.pid === server.pid && (l.event === 'generation-failed' || l.event === 'generation-replaced'), 'the restart to end')
      assert.equal(failed.event, 'generation-failed')
      assert.ok(
        failed.msg.includes("exited with code 1 before it was ready (the config's controlPath was added: a restart keeps the control socket, as it keeps the listening sockets; stop the server and start it again instead)"),
        failed.msg,
      )
      const after = load.stats.exchanges
      await until(() => load !== undefined && load.stats.exchanges > after + 100, 'exchanges after the failed restart')
      const stats = await load.stop()
      assert.deepStrictEqual(stats.examples, [])
      for (const pid of old) assert.ok(!isGone(pid), `worker ${pid} of generation 1 serves on`)
      await server.stop(server.pid)
    } finally {
      await load?.stop()
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('control socket', { timeout: 120_000 }, () => {
  it('a second restart while one runs is refused with the reason; garbage and unknown requests get error replies', async () => {
    const s = await startServer(false)
    try {
      // the first restart waits on a deploy that takes its time
      fs.writeFileSync(path.join(s.dir, 'slow'), '')
      const first = cli(['restart', s.config])
      await s.server.event(s.server.pid, 'successor-spawned')
      const second = await cli(['restart', s.config])
      assert.equal(second.code, 1)
      assert.match(second.stderr, /^restart refused: restart attempt 1 is in progress/)
      fs.rmSync(path.join(s.dir, 'slow'))
      assert.equal((await first).code, 0)

      const replies = await new Promise<string[]>((resolve, reject) => {
        const c = net.connect(path.join(s.dir, 'control.sock'))
        let got = ''
        c.setEncoding('utf8')
        c.on('data', (d: string) => {
          got += d
          if (got.split('\n').length > 3) c.end()
        })
        c.on('error', reject)
        c.on('close', () => resolve(got.trim().split('\n')))
        c.write('not json\n{"op":"explode","id":7}\n{"op":"status","id":"x"}\n')
      })
      assert.deepStrictEqual(JSON.parse(replies[0] ?? ''), { id: null, ok: false, error: { code: 'bad-request', message: 'a request is one JSON object per line, such as {"op":"status"}' } })
      assert.deepStrictEqual(JSON.parse(replies[1] ?? ''), { id: 7, ok: false, error: { code: 'bad-request', message: 'unknown op "explode": expected one of restart, status, stop' } })
      assert.equal((JSON.parse(replies[2] ?? '') as { id: string; ok: boolean }).id, 'x')
      assert.equal((await cli(['stop', s.config])).code, 0)
    } finally {
      cleanup(s)
    }
  })

  for (const workers of [false, true]) {
    it(`${workers ? 'supervised' : 'standalone'}: a status request sent the moment the control socket appears, while the server still starts, is answered`, async () => {
      const dir = tempDir()
      const control = path.join(dir, 'control.sock')
      const config = writeJson(path.join(dir, 'echo.json'), { bind: 'tcp://127.0.0.1:0', controlPath: control, ...(workers ? { workers: 2 } : {}) })
      const server = ServerProcess.echo(config)
      try {
        // poll for the socket file without letting a turn go by idle, and ask at once, from here
        while (!fs.existsSync(control)) await new Promise((r) => setImmediate(r))
        const reply = await new Promise<string>((resolve, reject) => {
          const c = net.connect(control, () => c.write('{"id":1,"op":"status"}\n'))
          let got = ''
          c.setEncoding('utf8')
          c.on('data', (d: string) => {
            got += d
            if (got.includes('\n')) {
              c.destroy()
              resolve(got)
            }
          })
          c.once('error', reject)
          c.setTimeout(20_000, () => reject(new Error(`no reply in 20 s (got ${JSON.stringify(got)})`)))
        })
        assert.match(reply, /^\{"id":1,"ok":true,"status":\{"pid":\d+/)
        assert.equal((await cli(['stop', '--control', control])).code, 0)
      } finally {
        server.killAll()
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })
  }

  it('another user gets permission denied (mode 0600), and exit code 2', async (t) => {
    if (process.getuid?.() !== 0) {
      t.skip('needs root, to run the command as the nobody user')
      return
    }
    const s = await startServer(false)
    const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'uni-cli-'))
    try {
      // the command is one file: a copy in a folder everyone can read, since the checkout may not be
      fs.chmodSync(copy, 0o755)
      fs.copyFileSync(CLI, path.join(copy, 'cli.js'))
      fs.chmodSync(path.join(copy, 'cli.js'), 0o644)
      assert.equal(fs.statSync(path.join(s.dir, 'control.sock')).mode & 0o777, 0o600)
      const r = await cli(['status', '--control', path.join(s.dir, 'control.sock')], { uid: 65534, gid: 65534, file: path.join(copy, 'cli.js'), node: nodeForNobody(copy) })
      assert.equal(r.code, 2)
      assert.match(r.stderr, /permission denied: the control socket belongs to the user the server runs as/)
      assert.equal((await cli(['stop', s.config])).code, 0)
    } finally {
      fs.rmSync(copy, { recursive: true, force: true })
      cleanup(s)
    }
  })

  it('no server: exit 2 with the reason; a usage error: exit 2 with the usage', async () => {
    const dir = tempDir()
    try {
      const config = writeJson(path.join(dir, 'c.json'), { bind: 'tcp://127.0.0.1:0', controlPath: path.join(dir, 'none.sock') })
      const r = await cli(['restart', config])
      assert.equal(r.code, 2)
      assert.match(r.stderr, /no server answers on the control socket .*none\.sock: the socket file does not exist/)
      const noControl = writeJson(path.join(dir, 'n.json'), { bind: 'tcp://127.0.0.1:0' })
      assert.match((await cli(['status', noControl])).stderr, /sets no controlPath/)
      const usage = await cli(['reboot', config])
      assert.equal(usage.code, 2)
      assert.match(usage.stderr, /unknown command "reboot"\nusage: uninterruptible restart\|status\|stop/)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
