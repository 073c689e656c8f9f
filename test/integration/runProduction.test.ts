/**
 * `uninterruptible run -- node app.js` where production runs it, as `serve` is tested there
 * (systemd.test.ts, activation.test.ts, containers.test.ts): the unchanged Express app
 * (fixtures/apps/express) under keep-alive HTTP load throughout.
 * - A real systemd (support/systemd): examples/systemd/uninterruptible-run.service, reloaded under load
 *   (a reload whose config does not check fails and leaves the app serving), then stopped; and the same
 *   unit started by a .socket unit, whose socket serves the app's listen().
 * - systemd-socket-activate: the first request starts `run`, and the passed socket serves the app.
 * - PID 1 of a pid namespace (a container): restarts by signal and by the control socket, SIGHUP
 *   ignored, the old workers reaped, SIGTERM leaves nothing; and what an orphan the app leaves becomes.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as http from 'node:http'
import * as net from 'node:net'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { CLI, freePort, HANG_MS, LogFile, type LogLine, ROOT, runCli, ServerProcess, tempDir, testEnv, until, writeJson } from '../support/harness'
import { startHttpLoad } from '../support/httpLoad'
import { bootedForSuite, type Systemd, systemdUnavailable } from '../support/systemd'

const APPS = path.join(ROOT, 'test/fixtures/apps')
const EXPRESS = path.join(APPS, 'express/app.js')
const BODY = /^hello from \d+$/
const root = process.getuid?.() === 0

type Diagnose = (message: string) => void

/** One GET / (the first may wait for an activated server to start): its body. */
const get = (port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/', agent: false }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d)).on('end', () => resolve(body))
    })
    req.setTimeout(HANG_MS, () => req.destroy(new Error(`no reply from port ${port} within ${HANG_MS} ms`)))
    req.once('error', reject)
  })

/**
 * `n` connections that have sent the first lines of a GET; `finish` sends the rest and reads each reply:
 * 'ok' (200, the app's body), or what went wrong.
 */
const holdRequests = async (port: number, n: number): Promise<{ readonly finish: () => Promise<string[]> }> => {
  const sockets = await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<net.Socket>((resolve, reject) => {
          const s = net.connect(port, '127.0.0.1', () => {
            s.write('GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n')
            resolve(s)
          })
          s.once('error', reject)
        }),
    ),
  )
  const replies = sockets.map(
    (s) =>
      new Promise<string>((resolve) => {
        let got = ''
        s.setEncoding('utf8')
        s.setTimeout(HANG_MS, () => s.destroy(new Error('no reply')))
        s.on('data', (d: string) => (got += d))
        s.once('error', (e) => resolve(`failed: ${e.message}; got ${JSON.stringify(got)}`))
        s.once('close', () => resolve(/^HTTP\/1\.1 200 [^]*\r\n\r\nhello from \d+$/.test(got) ? 'ok' : `failed: got ${JSON.stringify(got)}`))
      }),
  )
  return {
    finish: () => {
      for (const s of sockets) s.end('\r\n')
      return Promise.all(replies)
    },
  }
}

const httpLoad = (port: number): ReturnType<typeof startHttpLoad> => startHttpLoad({ port, fullSpeed: 16, paused: 4, maxPauseMs: 50, body: BODY })

// ---- under a real systemd ----

/** examples/systemd/uninterruptible-run.service with its placeholders filled in and the app's PORT set, installed as `name`. */
const installRunUnit = async (sd: Systemd, dir: string, name: string, values: { readonly config: string; readonly port: number }): Promise<void> => {
  let text = fs.readFileSync(path.join(ROOT, 'examples/systemd/uninterruptible-run.service'), 'utf8')
  for (const [key, value] of Object.entries({ NODE: process.execPath, CLI, CONFIG: values.config, APP: EXPRESS })) text = text.replaceAll(`@${key}@`, value)
  const left = text.split('\n').filter((l) => !l.startsWith('#') && /@[A-Z]+@/.test(l))
  assert.deepStrictEqual(left, [], 'every placeholder is filled in')
  // the app's own setting, as the unit's header says to give it
  text = text.replace('[Service]\n', `[Service]\nEnvironment=PORT=${values.port}\n`)
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  await sd.check(`cp ${file} /run/systemd/system/${name} && systemctl daemon-reload`)
}

const show = async (sd: Systemd, unit: string, property: string): Promise<string> => (await sd.check(`systemctl show -p ${property} --value ${unit}`)).trim()
const isActive = async (sd: Systemd, unit: string): Promise<string> => (await sd.run(`systemctl is-active ${unit}`)).stdout.trim()

interface RunConfig {
  readonly dir: string
  readonly port: number
  readonly config: string
  readonly controlPath: string
  readonly log: LogFile
  readonly json: Readonly<Record<string, unknown>>
}

/** A run config on a free port: 2 workers, a control socket and a log file in `dir`. */
const runConfig = async (dir: string): Promise<RunConfig> => {
  const port = await freePort()
  const controlPath = path.join(dir, 'control.sock')
  const logPath = path.join(dir, 'app.log')
  const json = { bind: `tcp://127.0.0.1:${port}`, workers: 2, controlPath, logPath, probationMs: 200, readyTimeoutMs: 60_000, drainTimeoutMs: 60_000 }
  return { dir, port, controlPath, config: writeJson(path.join(dir, 'run.json'), json), log: new LogFile(logPath), json }
}

/**
 * After `systemctl stop`: the stop ended well, the supervisor and every worker that logged exited 0 (the
 * last ones after a drain), nothing of the unit runs, the control socket is gone.
 */
const assertStoppedCleanly = async (sd: Systemd, unit: string, c: RunConfig, supervisor: number): Promise<void> => {
  const pids = c.log.pids()
  assert.equal(await show(sd, unit, 'Result'), 'success', (await sd.run(`journalctl -u ${unit} -o cat --no-pager | grep -v '^{' | tail -n 20`)).stdout)
  assert.equal(await show(sd, unit, 'MainPID'), '0')
  assert.equal(await isActive(sd, unit), 'inactive')
  assert.equal(await show(sd, unit, 'NRestarts'), '0')
  for (const pid of pids) {
    const exit = c.log.lines.find((l) => l.pid === pid && l.event === 'exit')
    assert.equal(exit?.code, 0, `process ${pid}${pid === supervisor ? ' (the supervisor)' : ''} logged its exit with code 0`)
  }
  const alive = await sd.check(`for p in ${pids.join(' ')}; do [ -e /proc/$p ] && echo $p; done; true`)
  assert.equal(alive.trim(), '', `no process that logged is alive (of ${pids.join(', ')})`)
  const running = await sd.check(`ps -eo pid=,args= | grep -F ${EXPRESS} | grep -v grep; true`)
  assert.equal(running.trim(), '', 'no process runs the app')
  assert.ok(!fs.existsSync(c.controlPath), 'no control socket is left')
}

const cleanUp = async (sd: Systemd, units: readonly string[], dir: string): Promise<void> => {
  await sd.run(`systemctl kill -s SIGKILL ${units.join(' ')}; systemctl stop ${units.join(' ')}; for u in ${units.join(' ')}; do rm -f /run/systemd/system/$u; done; systemctl daemon-reload`)
  fs.rmSync(dir, { recursive: true, force: true })
}

const RELOADS = 5
/** Requests in flight when the stop comes. */
const HELD = 4

/**
 * The example run unit: started, reloaded RELOADS times under keep-alive load (each `systemctl reload`
 * exits 0 once the new generation serves, the main pid stays), a reload with a config that does not
 * check fails while the app serves on, then stopped.
 */
const runUnit = async (sd: Systemd, diagnose: Diagnose): Promise<void> => {
  const dir = tempDir()
  const unit = `uni-${randomBytes(4).toString('hex')}-run.service`
  const c = await runConfig(dir)
  let load: ReturnType<typeof startHttpLoad> | undefined
  try {
    await installRunUnit(sd, dir, unit, c)
    await sd.check(`systemctl start ${unit}`)
    const mainPid = Number(await show(sd, unit, 'MainPID'))
    await c.log.waitFor((l) => l.pid === mainPid && l.event === 'listening' && l.supervisor === true, 'the run supervisor to serve')
    assert.match(await get(c.port), BODY)
    load = httpLoad(c.port)
    await load.answered(100)
    for (let generation = 2; generation <= RELOADS + 1; generation++) {
      const reload = await sd.run(`systemctl reload ${unit}`)
      assert.equal(reload.code, 0, `systemctl reload: ${reload.stderr}`)
      await c.log.waitFor((l) => l.pid === mainPid && l.event === 'generation-replaced' && l.generation === generation, `generation ${generation} to take over`)
      await load.answered(50)
    }
    // a deploy whose config does not check: ExecReload's check fails it, nothing is restarted
    writeJson(c.config, { ...c.json, drainTimeoutMs: 'soon' })
    const broken = await sd.run(`systemctl reload ${unit}`)
    writeJson(c.config, c.json)
    assert.notEqual(broken.code, 0, 'the reload fails')
    assert.equal(await isActive(sd, unit), 'active')
    assert.equal(await show(sd, unit, 'ReloadResult'), 'exit-code')
    const said = (await sd.check(`journalctl -u ${unit} -o cat --no-pager`)).split('\n')
    assert.ok(said.some((l) => l.includes('drainTimeoutMs')), `the journal names the key:\n${said.filter((l) => !l.startsWith('{')).join('\n')}`)
    await load.answered(50)
    const last = await sd.run(`systemctl reload ${unit}`)
    assert.equal(last.code, 0, `the fixed config reloads: ${last.stderr}`)
    await c.log.waitFor((l) => l.pid === mainPid && l.event === 'generation-replaced' && l.generation === RELOADS + 2, 'the fixed generation to take over')
    await load.answered(50)
    const stats = await load.stop()
    assert.equal(Number(await show(sd, unit, 'MainPID')), mainPid, 'the main pid never changed')
    assert.ok(said.some((l) => l.startsWith('Example app listening on port')), "the app's own output is in the journal")

    // requests in flight when the stop comes: the workers drain them before they exit
    const held = await holdRequests(c.port, HELD)
    const stopping = sd.run(`systemctl stop ${unit}`)
    const workers = new Set<number>()
    await c.log.waitFor((l) => {
      if (l.event === 'draining' && l.reason === 'stop' && l.generation === RELOADS + 2) workers.add(l.pid)
      return workers.size === 2
    }, 'both workers to drain')
    const outcomes = await held.finish()
    const stop = await stopping
    assert.equal(stop.code, 0, stop.stderr)
    await assertStoppedCleanly(sd, unit, c, mainPid)
    diagnose(
      `run unit: ${RELOADS + 1} reloads exited 0, 1 with a config that does not check failed; ${stats.ok} requests answered, ${stats.failed} failed ${JSON.stringify(stats.byKind)}; ` +
        `MainPID ${mainPid} throughout; stop: 2 workers drained, ${outcomes.filter((o) => o === 'ok').length}/${HELD} requests in flight answered, ${c.log.pids().length} processes logged, all exited 0`,
    )
    assert.deepStrictEqual(stats.examples, [])
    assert.equal(stats.failed, 0)
    assert.deepStrictEqual(outcomes, Array.from({ length: HELD }, () => 'ok'), 'every request in flight at the stop is answered')
  } finally {
    await load?.stop()
    await cleanUp(sd, [unit], dir)
  }
}

/**
 * The run unit behind a .socket unit of the same name: systemd holds the port, the first request starts
 * the service, and the app's listen() is served by systemd's socket (the supervisor binds nothing:
 * the port is systemd's); reloads under load lose nothing; after the service stops, the socket is
 * still systemd's, and a request starts the service again.
 */
const socketUnit = async (sd: Systemd, diagnose: Diagnose): Promise<void> => {
  const dir = tempDir()
  const name = `uni-${randomBytes(4).toString('hex')}-run`
  const [service, socket] = [`${name}.service`, `${name}.socket`]
  const c = await runConfig(dir)
  let load: ReturnType<typeof startHttpLoad> | undefined
  try {
    await installRunUnit(sd, dir, service, c)
    fs.writeFileSync(path.join(dir, socket), `[Socket]\nListenStream=127.0.0.1:${c.port}\n`)
    await sd.check(`cp ${path.join(dir, socket)} /run/systemd/system/${socket} && systemctl daemon-reload && systemctl start ${socket}`)
    assert.equal(await isActive(sd, service), 'inactive', 'nothing runs before the first request')
    assert.match(await get(c.port), BODY, 'the first request starts the service and is served')
    const mainPid = Number(await show(sd, service, 'MainPID'))
    const listening = await c.log.waitFor((l) => l.pid === mainPid && l.event === 'listening' && l.supervisor === true, 'the run supervisor to serve')
    assert.equal(listening.bind, `tcp://127.0.0.1:${c.port}`)
    load = httpLoad(c.port)
    await load.answered(100)
    for (let generation = 2; generation <= 3; generation++) {
      const reload = await sd.run(`systemctl reload ${service}`)
      assert.equal(reload.code, 0, `systemctl reload: ${reload.stderr}`)
      await c.log.waitFor((l) => l.pid === mainPid && l.event === 'generation-replaced' && l.generation === generation, `generation ${generation} to take over`)
      await load.answered(50)
    }
    const stats = await load.stop()
    const stop = await sd.run(`systemctl stop ${service}`)
    assert.equal(stop.code, 0, stop.stderr)
    await assertStoppedCleanly(sd, service, c, mainPid)
    assert.equal(await isActive(sd, socket), 'active', 'the socket stays with systemd')
    assert.match(await get(c.port), BODY, 'a request after the stop starts the service again')
    const again = Number(await show(sd, service, 'MainPID'))
    assert.notEqual(again, mainPid)
    diagnose(`socket unit: the first request started run (supervisor ${mainPid}), 2 reloads under load, ${stats.ok} requests answered, ${stats.failed} failed ${JSON.stringify(stats.byKind)}; after the stop a request started it again (${again})`)
    assert.deepStrictEqual(stats.examples, [])
    assert.equal(stats.failed, 0)
    assert.equal((await sd.run(`systemctl stop ${socket} ${service}`)).code, 0)
  } finally {
    await load?.stop()
    await cleanUp(sd, [socket, service], dir)
  }
}

describe('uninterruptible run under a real systemd', { timeout: 300_000, skip: systemdUnavailable() ?? false }, () => {
  const booted = bootedForSuite()

  it(`the example run unit: ${RELOADS} reloads under keep-alive load exit 0, 0 failed, MainPID never changes; a config that does not check fails the reload, the app serves on; stop drains and leaves nothing`, (t) =>
    runUnit(booted(), (m) => t.diagnostic(m)))
  it('behind a .socket unit: the first request starts run, the app is served by systemd\'s socket through reloads under load (0 failed); after a stop the socket is still systemd\'s', (t) =>
    socketUnit(booted(), (m) => t.diagnostic(m)))
})

// ---- systemd-socket-activate ----

const ACTIVATE = '/usr/bin/systemd-socket-activate'

describe('uninterruptible run under socket activation (systemd-socket-activate)', { timeout: 240_000, skip: fs.existsSync(ACTIVATE) ? false : `${ACTIVATE} is not installed` }, () => {
  it('the first request starts run; the passed socket serves the app through 10 restarts under load, 0 failed; stop', async (t) => {
    const dir = tempDir()
    const port = await freePort()
    const control = path.join(dir, 'control.sock')
    // systemd-socket-activate passes no environment but what -E names
    const server = new ServerProcess(
      ['-E', `PORT=${port}`, '-l', `127.0.0.1:${port}`, process.execPath, CLI, 'run', '--bind', `tcp://127.0.0.1:${port}`, '--workers', '2', '--control', control, '--probation-ms', '200', '--', process.execPath, EXPRESS],
      { command: ACTIVATE, cwd: dir },
    )
    let load: ReturnType<typeof startHttpLoad> | undefined
    try {
      await server.waitForText((l) => l.startsWith('Listening on'), 'systemd-socket-activate to listen')
      assert.match(await get(port), BODY, 'the first request starts run and is served')
      const listening = await server.waitFor((l) => l.event === 'listening' && l.supervisor === true, 'the run supervisor to serve')
      assert.equal(listening.pid, server.pid, 'systemd-socket-activate execs run: the pid LISTEN_PID names')
      load = httpLoad(port)
      await load.answered(100)
      for (let i = 0; i < 10; i++) {
        const r = await runCli(['restart', '--control', control])
        assert.equal(r.code, 0, r.stdout + r.stderr)
        await load.answered(50)
      }
      const stats = await load.stop()
      t.diagnostic(`socket activation: 10 restarts, ${stats.ok} requests answered, ${stats.failed} failed ${JSON.stringify(stats.byKind)}`)
      assert.deepStrictEqual(stats.examples, [])
      assert.equal((await runCli(['stop', '--control', control])).code, 0)
      assert.equal((await server.closed).code, 0)
    } finally {
      await load?.stop()
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it("a UNIX socket (its path has a space): the app's listen(path) is served by it, server.address() says the path as Node's would, across a restart; the socket file stays systemd's", async () => {
    const dir = tempDir()
    const folder = path.join(dir, 'dir with space')
    fs.mkdirSync(folder)
    const sock = path.join(folder, 'app.sock')
    const control = path.join(dir, 'control.sock')
    const server = new ServerProcess(
      ['-E', `SOCKET_PATH=${sock}`, '-l', sock, process.execPath, CLI, 'run', '--bind', `unix://${sock}`, '--control', control, '--probation-ms', '200', '--', process.execPath, path.join(APPS, 'unix/app.js')],
      { command: ACTIVATE, cwd: dir },
    )
    /** GET / on the socket: the app's answer. */
    const ask = (): Promise<string> =>
      new Promise((resolve, reject) => {
        const req = http.get({ socketPath: sock, path: '/', agent: false }, (res) => {
          let body = ''
          res.setEncoding('utf8')
          res.on('data', (d: string) => (body += d)).on('end', () => resolve(body))
        })
        req.setTimeout(HANG_MS, () => req.destroy(new Error(`no reply on ${sock} within ${HANG_MS} ms`)))
        req.once('error', reject)
      })
    try {
      await server.waitForText((l) => l.startsWith('Listening on'), 'systemd-socket-activate to listen')
      /** Where the app says it listens, from its answer. */
      const where = (body: string): unknown => {
        const m = /^hello from \d+ at (.*)$/.exec(body)
        assert.ok(m?.[1] !== undefined, `an answer of the app: ${body}`)
        return JSON.parse(m[1])
      }
      assert.equal(where(await ask()), sock, 'the first request starts run; the app says where it listens')
      const r = await runCli(['restart', '--control', control])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.equal(where(await ask()), sock, 'the new generation too')
      assert.equal((await runCli(['stop', '--control', control])).code, 0)
      assert.equal((await server.closed).code, 0)
      assert.ok(fs.statSync(sock).isSocket(), "systemd's socket file stays")
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

// ---- PID 1 of a pid namespace ----

interface Container {
  readonly dir: string
  readonly port: number
  readonly control: string
  readonly server: ServerProcess
  /** The supervisor's pid out here (its log says 1). */
  readonly pid: number
}

/** `unshare --pid --fork --mount-proc uninterruptible run ... -- node <app>`: the run command as a container's first process. */
const runAsInit = async (app: string, workers: number): Promise<Container> => {
  const dir = tempDir()
  const port = await freePort()
  const control = path.join(dir, 'control.sock')
  const args = ['--pid', '--fork', '--mount-proc', process.execPath, CLI, 'run', '--bind', `tcp://127.0.0.1:${port}`, '--workers', String(workers), '--control', control, '--probation-ms', '200', '--', process.execPath, path.join(APPS, app, 'app.js')]
  const server = new ServerProcess(args, { command: 'unshare', env: testEnv({ PORT: String(port) }), cwd: dir })
  await server.waitFor((l) => l.pid === 1 && l.event === 'listening' && l.supervisor === true, `${app} serving under run as PID 1`)
  const children = childrenOf(server.pid)
  const [pid] = children
  if (pid === undefined || children.length !== 1) throw new Error(`unshare has children ${JSON.stringify(children)}`)
  return { dir, port, control, server, pid }
}

const childrenOf = (pid: number): number[] =>
  fs
    .readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8')
    .trim()
    .split(/\s+/)
    .filter((s) => s !== '')
    .map(Number)

/** A process's state letter (R, S, Z, ...), or undefined once it is gone. */
const stateOf = (pid: number): string | undefined => {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
  } catch {
    return undefined
  }
}

const zombiesOf = (pid: number): number[] => childrenOf(pid).filter((c) => stateOf(c) === 'Z')

const supervisorSaid = (c: Container, event: string): LogLine[] => c.server.lines.filter((l) => l.pid === 1 && l.event === event)

describe('uninterruptible run as PID 1 of a pid namespace (a container)', { timeout: 300_000, skip: root ? false : 'needs root, to make a pid namespace with unshare' }, () => {
  const RESTARTS = 10

  it(`2 workers: ${RESTARTS} restarts under keep-alive load, by SIGUSR1 and by the control socket in turn, 0 failed; SIGHUP is ignored; the old workers are reaped; SIGTERM stops it cleanly and leaves nothing`, async (t) => {
    const c = await runAsInit('express', 2)
    let load: ReturnType<typeof startHttpLoad> | undefined
    try {
      load = httpLoad(c.port)
      await load.answered(100)
      process.kill(c.pid, 'SIGHUP') // a closed terminal, a log-rotation script
      await c.server.waitFor((l) => l.pid === 1 && l.event === 'signal-ignored' && l.signal === 'SIGHUP', 'SIGHUP to be ignored')
      await load.answered(50)
      for (let generation = 2; generation <= RESTARTS + 1; generation++) {
        if (generation % 2 === 0) process.kill(c.pid, 'SIGUSR1')
        else {
          const r = await runCli(['restart', '--control', c.control])
          assert.equal(r.code, 0, r.stdout + r.stderr)
        }
        await c.server.waitFor((l) => l.pid === 1 && l.event === 'generation-replaced' && l.generation === generation, `generation ${generation} to take over`)
        await load.answered(50)
      }
      const stats = await load.stop()
      // every old worker has exited once the supervisor says so for each (it reaps them then)
      await c.server.waitFor((l) => l.pid === 1 && l.event === 'worker-exited' && supervisorSaid(c, 'worker-exited').length === 2 * RESTARTS, `the ${2 * RESTARTS} old workers to exit`)
      const children = childrenOf(c.pid)
      const states = children.map((p) => stateOf(p))
      t.diagnostic(`PID 1 run supervisor: ${RESTARTS} restarts, ${stats.ok} requests answered, ${stats.failed} failed ${JSON.stringify(stats.byKind)}; ${supervisorSaid(c, 'worker-exited').length} old workers exited; its children now: ${children.length} (states ${states.join(', ')})`)
      assert.deepStrictEqual(stats.examples, [])
      assert.equal(stats.failed, 0)
      assert.equal(supervisorSaid(c, 'restart-requested').length, RESTARTS, 'SIGHUP restarted nothing')
      assert.equal(children.length, 2, 'the supervisor has its 2 workers as children, the old ones reaped')
      assert.deepStrictEqual(zombiesOf(c.pid), [], 'no zombie')

      process.kill(c.pid, 'SIGTERM')
      assert.equal((await c.server.event(1, 'exit')).code, 0)
      assert.equal((await c.server.closed).code, 0, 'unshare reports the exit code of the container')
      assert.deepStrictEqual(c.server.processes(), [], 'nothing of the container is left')
    } finally {
      await load?.stop()
      c.server.killAll()
      fs.rmSync(c.dir, { recursive: true, force: true })
    }
  })

  it('an app that leaves an orphan (a helper that daemonises): it ends as a zombie child of the PID 1 supervisor (Node reaps only the processes it started: use an init, `docker run --init`); the stop still leaves nothing', async (t) => {
    const c = await runAsInit('orphan', 1)
    try {
      await until(() => zombiesOf(c.pid).length >= 1, "the app's orphan to end as the supervisor's zombie")
      const r = await runCli(['restart', '--control', c.control])
      assert.equal(r.code, 0, r.stdout + r.stderr)
      assert.match(await get(c.port), BODY)
      await until(() => zombiesOf(c.pid).length >= 2, "the new worker's orphan too")
      t.diagnostic(`zombies under the PID 1 supervisor after one restart: ${zombiesOf(c.pid).length}`)
      process.kill(c.pid, 'SIGTERM')
      assert.equal((await c.server.event(1, 'exit')).code, 0)
      assert.equal((await c.server.closed).code, 0)
      assert.deepStrictEqual(c.server.processes(), [], 'the namespace ended with its first process: nothing is left')
    } finally {
      c.server.killAll()
      fs.rmSync(c.dir, { recursive: true, force: true })
    }
  })
})
