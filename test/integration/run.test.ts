/**
 * `uninterruptible run -- node app.js`: unchanged apps from npm (test/fixtures/apps/, written as their
 * frameworks' getting-started guides do; only the port comes from PORT), restarted under load with
 * `uninterruptible restart`, one worker and two. Also: an app whose SIGTERM handler exits at once, broken
 * deploys, and `status`.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as https from 'node:https'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { makeCerts, opensslMissing } from '../support/certs'
import { startLoad } from '../support/echoLoad'
import { CLI, freePort, ROOT, runCli, ServerProcess, tempDir, testEnv, waitGone } from '../support/harness'
import { startHttpLoad } from '../support/httpLoad'

const APPS = path.join(ROOT, 'test/fixtures/apps')
const RESTARTS = 20

interface Run {
  readonly dir: string
  readonly port: number
  readonly control: string
  readonly server: ServerProcess
}

/** `uninterruptible run` of `app`, on a free port, with a control socket; resolves once it serves. */
const startRun = async (app: string, workers: number, extra: readonly string[] = []): Promise<Run> => {
  const dir = tempDir()
  const port = await freePort()
  const control = path.join(dir, 'control.sock')
  const args = [CLI, 'run', '--bind', `tcp://127.0.0.1:${port}`, '--workers', String(workers), '--control', control, '--pidfile', path.join(dir, 'app.pid'), '--probation-ms', '200', ...extra, '--', process.execPath, path.join(APPS, app, 'app.js')]
  const server = new ServerProcess(args, { env: testEnv({ PORT: String(port) }), cwd: dir })
  await server.waitFor((l) => l.event === 'listening' && l.supervisor === true, `${app} serving under run`)
  return { dir, port, control, server }
}

const stopRun = async (r: Run): Promise<void> => {
  const stop = await runCli(['stop', '--control', r.control])
  assert.equal(stop.code, 0, stop.stderr)
  await r.server.closed
  for (const pid of r.server.pids()) await waitGone(pid)
}

const cleanup = (r: Run): void => {
  r.server.killAll()
  fs.rmSync(r.dir, { recursive: true, force: true })
}

const restart = async (r: Run): Promise<void> => {
  const out = await runCli(['restart', '--control', r.control])
  assert.equal(out.code, 0, `restart: ${out.stdout}${out.stderr}`)
}

describe('uninterruptible run: unchanged apps through 20 restarts under load', { timeout: 600_000 }, () => {
  for (const app of ['express', 'fastify', 'koa', 'esm'] as const) {
    for (const workers of [1, 2]) {
      it(`${app}, ${workers} worker(s): keep-alive HTTP load, 0 errors, 0 wrong responses`, async (t) => {
        const r = await startRun(app, workers)
        let load: ReturnType<typeof startHttpLoad> | undefined
        try {
          load = startHttpLoad({ port: r.port, fullSpeed: 16, paused: 4, maxPauseMs: 50, body: /^hello from \d+$/ })
          await load.answered(100)
          for (let i = 0; i < RESTARTS; i++) {
            await restart(r)
            await load.answered(50)
          }
          const stats = await load.stop()
          t.diagnostic(`${app}, ${workers} worker(s): ${RESTARTS} restarts, ${stats.ok} requests answered, ${stats.failed} failed ${JSON.stringify(stats.byKind)}`)
          assert.deepStrictEqual(stats.examples, [])
          assert.equal(stats.failed, 0)
          await stopRun(r)
        } finally {
          await load?.stop()
          cleanup(r)
        }
      })
    }
  }

  for (const workers of [1, 2]) {
    it(`a plain net echo app, ${workers} worker(s): connect / echo / close load, 0 failed`, async (t) => {
      const r = await startRun('net', workers)
      const load = startLoad({ host: '127.0.0.1', port: r.port }, 16)
      try {
        for (let i = 0; i < RESTARTS; i++) await restart(r)
        const stats = await load.stop()
        t.diagnostic(`net, ${workers} worker(s): ${RESTARTS} restarts, ${stats.exchanges} exchanges, ${stats.failed} failed`)
        assert.deepStrictEqual(stats.examples, [])
        await stopRun(r)
      } finally {
        await load.stop()
        cleanup(r)
      }
    })
  }

  it('an app whose SIGTERM handler calls process.exit(0) loses no request across 20 restarts', async (t) => {
    const r = await startRun('sigterm', 2)
    const load = startHttpLoad({ port: r.port, fullSpeed: 16, paused: 4, maxPauseMs: 50, body: /^hello from \d+$/ })
    try {
      for (let i = 0; i < RESTARTS; i++) {
        await restart(r)
        await load.answered(50)
      }
      const stats = await load.stop()
      t.diagnostic(`sigterm app: ${stats.ok} answered, ${stats.failed} failed`)
      assert.deepStrictEqual(stats.examples, [])
      await stopRun(r)
    } finally {
      await load.stop()
      cleanup(r)
    }
  })
})

describe('uninterruptible run: what the worker was given stays in it', () => {
  it('a program the app starts sees no inheritance variable, the NODE_OPTIONS it had, and no inherited socket', async () => {
    const r = await startRun('spawner', 1)
    try {
      const reply = await new Promise<string>((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: r.port, path: '/' }, (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (d: string) => (body += d)).on('end', () => resolve(body))
        }).once('error', reject)
      })
      assert.deepStrictEqual(JSON.parse(reply), { vars: [], nodeOptions: null, sockets: [] })
      await stopRun(r)
    } finally {
      cleanup(r)
    }
  })
})

describe('uninterruptible run: broken deploys and status', { timeout: 300_000 }, () => {
  // (with one worker, the wrong port is seen for what it is: with two, the second would fail on the port
  // the first took, EADDRINUSE, which a restart reports as such)
  for (const [broken, reason, workers] of [
    ['throws', /the database URL is not set/, 2],
    ['wrongPort', /was not ready within 5000 ms \(the app has not listened on tcp:\/\/127\.0\.0\.1:\d+; it called listen\(\d+\): no configured address matches it/, 1],
  ] as const) {
    it(`a deploy that ${broken === 'throws' ? 'throws at start' : 'listens on the wrong port'}: the old workers serve on, restart exits 1 with the reason`, async () => {
      const dir = tempDir()
      const appDir = path.join(dir, 'app')
      fs.mkdirSync(appDir)
      fs.copyFileSync(path.join(APPS, 'express/app.js'), path.join(appDir, 'app.js'))
      const port = await freePort()
      const control = path.join(dir, 'control.sock')
      const server = new ServerProcess(
        [CLI, 'run', '--bind', `tcp://127.0.0.1:${port}`, '--workers', String(workers), '--control', control, '--ready-timeout-ms', '5000', '--', process.execPath, path.join(appDir, 'app.js')],
        // the wrong port: one picked free (port + 1 may be taken)
        { env: testEnv({ PORT: String(port), WRONG_PORT: String(await freePort()), NODE_PATH: path.join(ROOT, 'node_modules') }), cwd: dir },
      )
      const r: Run = { dir, port, control, server }
      let load: ReturnType<typeof startHttpLoad> | undefined
      try {
        await server.waitFor((l) => l.event === 'listening' && l.supervisor === true, 'serving')
        load = startHttpLoad({ port, fullSpeed: 8, paused: 2, maxPauseMs: 50, body: /^hello from \d+$/ })
        await load.answered(50)
        fs.copyFileSync(path.join(APPS, broken, 'app.js'), path.join(appDir, 'app.js'))
        const out = await runCli(['restart', '--control', control])
        assert.equal(out.code, 1, out.stdout + out.stderr)
        assert.match(out.stderr, /^restart failed: generation 2: /)
        assert.match(out.stderr, reason)
        await load.answered(50)
        const status = await runCli(['status', '--control', control, '--json'])
        const s = JSON.parse(status.stdout) as { readonly generation: number; readonly workers: readonly { readonly generation: number; readonly pid: number | null }[] }
        assert.equal(s.generation, 1, 'generation 1 serves on')
        assert.equal(s.workers.length, workers)
        assert.ok(s.workers.every((w) => w.generation === 1 && w.pid !== null), 'status shows the workers of a run server')
        const stats = await load.stop()
        assert.deepStrictEqual(stats.examples, [])
        await stopRun(r)
      } finally {
        await load?.stop()
        cleanup(r)
      }
    })
  }
})

describe('uninterruptible run: a command line, a config or a process that will not do', () => {
  it('a usage error exits 2 with the usage; a value that does not decode exits 1 naming the key and the flag', async () => {
    const noCommand = await runCli(['run', '--bind', 'tcp://127.0.0.1:3000'])
    assert.equal(noCommand.code, 2)
    assert.match(noCommand.stderr, /^uninterruptible run: run needs the application's command after --, e\.g\. run --bind .* -- node app\.js\nusage: uninterruptible run /)
    const unknown = await runCli(['run', '--bogus', '1', '--', process.execPath, 'app.js'])
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /^uninterruptible run: unknown option --bogus \(run --help lists them\)/)
    const bad = await runCli(['run', '--bind', 'tcp://127.0.0.1:3000', '--drain-timeout-ms', 'soon', '--', process.execPath, 'app.js'])
    assert.equal(bad.code, 1)
    assert.match(bad.stderr, /^uninterruptible run: invalid config \(1 problem\):\n {2}- drainTimeoutMs \(--drain-timeout-ms\): got "soon", expected /)
  })

  it('an app that throws at start: run exits 1 with the error, nothing left', async () => {
    const dir = tempDir()
    const port = await freePort()
    const server = new ServerProcess([CLI, 'run', '--bind', `tcp://127.0.0.1:${port}`, '--pidfile', path.join(dir, 'app.pid'), '--', process.execPath, path.join(APPS, 'throws/app.js')], { env: testEnv({ PORT: String(port) }), cwd: dir })
    try {
      assert.equal((await server.closed).code, 1)
      assert.ok(
        server.text.some((l) => /^uninterruptible: generation 1 could not start: worker 0 \(pid \d+\) exited with code 1 before it was ready \(it threw: the database URL is not set\)$/.test(l)),
        server.text.join('\n'),
      )
      assert.equal(server.lines.find((l) => l.event === 'start-failed')?.failure, 'exited')
      for (const pid of server.pids()) await waitGone(pid)
      assert.ok(!fs.existsSync(path.join(dir, 'app.pid')), 'no pidfile is left')
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('the app adapter in a process that run did not start as its worker refuses, naming run (NotARunWorker)', async () => {
    const port = await freePort()
    const app = new ServerProcess(['--require', path.join(ROOT, 'dist/lib/app.js'), path.join(APPS, 'express/app.js')], {
      env: testEnv({ PORT: String(port), UNINTERRUPTIBLE_RUN: JSON.stringify({ configFile: null, flags: { bind: `tcp://127.0.0.1:${port}` } }) }),
    })
    try {
      const failed = await app.waitFor((l) => l.event === 'startup-failed', 'the refusal')
      assert.equal(failed.error, 'NotARunWorker')
      assert.equal((await app.closed).code, 1)
      assert.ok(app.text.includes('uninterruptible: the app adapter serves an app only in a worker that `uninterruptible run` started: run the app with `uninterruptible run ... -- node app.js`'), app.text.join('\n'))
    } finally {
      app.killAll()
    }
  })
})

describe('uninterruptible run: an app that listens where no configured address is', () => {
  it('is served as Node would serve it, with a listen-unmatched warning; a restart then fails on EADDRINUSE (the old worker holds that port) and the old worker serves on; configured too, it restarts', async () => {
    const dir = tempDir()
    const [port, metrics] = [await freePort(), await freePort()]
    const control = path.join(dir, 'control.sock')
    const start = (binds: readonly number[]): ServerProcess =>
      new ServerProcess([CLI, 'run', ...binds.flatMap((p) => ['--bind', `tcp://127.0.0.1:${p}`]), '--control', control, '--probation-ms', '200', '--', process.execPath, path.join(APPS, 'extraPort/app.js')], {
        env: testEnv({ PORT: String(port), METRICS_PORT: String(metrics) }),
        cwd: dir,
      })
    const ask = (p: number): Promise<string> =>
      new Promise((resolve, reject) => {
        http.get({ host: '127.0.0.1', port: p, path: '/', agent: false }, (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (d: string) => (body += d)).on('end', () => resolve(body))
        }).once('error', reject)
      })
    let server = start([port])
    try {
      const warned = await server.waitFor((l) => l.event === 'listen-unmatched', 'the warning')
      assert.equal(warned.call, `listen(${metrics}): no configured address matches it (configured: tcp://127.0.0.1:${port})`)
      assert.equal(warned.level, 40)
      await server.waitFor((l) => l.event === 'listening' && l.supervisor === true, 'serving')
      assert.match(await ask(metrics), /^metrics of \d+$/, 'the app serves its own port itself')
      const failed = await runCli(['restart', '--control', control])
      assert.equal(failed.code, 1, failed.stdout + failed.stderr)
      assert.match(failed.stderr, /^restart failed: generation 2: worker 0 \(pid \d+\) exited with code 1 before it was ready \(it threw: .*EADDRINUSE.*\); the old generation serves on/)
      assert.match(await ask(port), /^hello from \d+$/)
      assert.equal((await runCli(['stop', '--control', control])).code, 0)
      await server.closed

      server = start([port, metrics])
      await server.waitFor((l) => l.event === 'listening' && l.supervisor === true, 'serving both')
      const restarted = await runCli(['restart', '--control', control])
      assert.equal(restarted.code, 0, restarted.stdout + restarted.stderr)
      assert.match(await ask(metrics), /^metrics of \d+$/)
      assert.equal(server.lines.find((l) => l.event === 'listen-unmatched'), undefined, 'no warning')
      assert.equal((await runCli(['stop', '--control', control])).code, 0)
      await server.closed
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('uninterruptible run: TLS from the config', { skip: opensslMissing() }, () => {
  it('--tls-cert and --tls-key: the unchanged Express app answers HTTPS (the worker terminates TLS before the app), across a restart; plain HTTP gets no answer', async () => {
    const dir = tempDir()
    const certs = makeCerts(dir)
    const port = await freePort()
    const control = path.join(dir, 'control.sock')
    const server = new ServerProcess(
      [CLI, 'run', '--bind', `tcp://127.0.0.1:${port}`, '--tls-cert', certs.server.cert, '--tls-key', certs.server.key, '--control', control, '--probation-ms', '200', '--', process.execPath, path.join(APPS, 'express/app.js')],
      { env: testEnv({ PORT: String(port) }), cwd: dir },
    )
    const ca = fs.readFileSync(certs.ca)
    const get = (secure: boolean): Promise<string> =>
      new Promise((resolve, reject) => {
        const done = (res: http.IncomingMessage): void => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (d: string) => (body += d)).on('end', () => resolve(body))
        }
        const req = secure ? https.get({ host: '127.0.0.1', port, path: '/', ca, servername: 'localhost', agent: false }, done) : http.get({ host: '127.0.0.1', port, path: '/', agent: false }, done)
        req.once('error', reject)
      })
    try {
      await server.waitFor((l) => l.event === 'listening' && l.supervisor === true, 'serving')
      assert.match(await get(true), /^hello from \d+$/)
      await assert.rejects(get(false), 'plain HTTP is not answered')
      const r = await runCli(['restart', '--control', control])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.match(await get(true), /^hello from \d+$/)
      assert.equal((await runCli(['stop', '--control', control])).code, 0)
      await server.closed
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
