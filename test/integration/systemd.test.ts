/**
 * The unit files of examples/systemd under a real systemd (booted once for this file in a pid namespace,
 * see support/systemd), with the echo server of this checkout and a temporary config: `systemctl reload`
 * under load loses nothing, the unit stays active and systemd keeps track of the main pid (the
 * supervisor's never changes; a standalone server's follows each new generation through the pidfile),
 * and `systemctl stop` while an old generation still drains serves what it holds and leaves nothing.
 * The KillMode each unit sets is what makes that last step pass (see the comments in the units). One more
 * test keeps the known failure in view: the standalone unit without PIDFile= ends at its first reload.
 * Pids here are the namespace's: systemctl, the pidfile and the log all report those.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { exchange, holdClients, type Outcome, type Stats, startLoad, uniqueLine } from '../support/echoLoad'
import { ECHO, freePort, HANG_MS, LogFile, readPid, ROOT, tempDir, until, writeJson } from '../support/harness'
import { bootSystemd, type Systemd, systemdUnavailable } from '../support/systemd'

const SUPERVISED_RELOADS = 5
const STANDALONE_RELOADS = 5
const CONCURRENCY = 24
const HELD = 4
/** How long a stop may take to reach the processes: far less than TimeoutStopSec, after which systemd SIGKILLs. */
const STOP_REACHES_MS = 30_000

type Diagnose = (message: string) => void

/** The unit file `template` of examples/systemd with its placeholders filled in, installed as `name`. */
const installUnit = async (
  sd: Systemd,
  dir: string,
  template: string,
  name: string,
  values: Readonly<Record<string, string>>,
  edit: (text: string) => string = (text) => text,
): Promise<void> => {
  let text = edit(fs.readFileSync(path.join(ROOT, 'examples/systemd', template), 'utf8'))
  for (const [key, value] of Object.entries(values)) text = text.replaceAll(`@${key}@`, value)
  const left = text.split('\n').filter((l) => !l.startsWith('#') && /@[A-Z]+@/.test(l))
  assert.deepStrictEqual(left, [], `every placeholder of ${template} is filled in`)
  const file = path.join(dir, name)
  fs.writeFileSync(file, text)
  await sd.check(`cp ${file} /run/systemd/system/${name} && systemctl daemon-reload`)
}

const show = async (sd: Systemd, unit: string, property: string): Promise<string> => (await sd.check(`systemctl show -p ${property} --value ${unit}`)).trim()
/** Several properties at once, by name (systemctl prints them in its own order). */
const properties = async (sd: Systemd, unit: string, names: readonly string[]): Promise<Partial<Record<string, string>>> => {
  const text = await sd.check(`systemctl show ${names.map((n) => `-p ${n}`).join(' ')} ${unit}`)
  return Object.fromEntries(text.trim().split('\n').map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]))
}
const mainPidOf = async (sd: Systemd, unit: string): Promise<number> => Number(await show(sd, unit, 'MainPID'))
const isActive = async (sd: Systemd, unit: string): Promise<string> => (await sd.run(`systemctl is-active ${unit}`)).stdout.trim()

/** Polls an asynchronous check (systemd's state gives the test no event) until it holds. */
const eventually = async (check: () => Promise<boolean>, what: string, hangMs = HANG_MS): Promise<void> => {
  const deadline = Date.now() + hangMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`hung waiting for ${what} (${hangMs} ms)`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

/** An echo config on a free TCP port, its pidfile and log in `dir`. */
const echoConfig = async (dir: string, extra: Readonly<Record<string, unknown>>): Promise<{ config: string; pidfile: string; log: LogFile; port: number }> => {
  const port = await freePort()
  const pidfile = path.join(dir, 'echo.pid')
  const logPath = path.join(dir, 'echo.log')
  const config = writeJson(path.join(dir, 'echo.json'), {
    bind: `tcp://127.0.0.1:${port}`,
    pidfilePath: pidfile,
    logPath,
    probationMs: 200,
    readyTimeoutMs: 60_000,
    drainTimeoutMs: 60_000,
    ...extra,
  })
  return { config, pidfile, log: new LogFile(logPath), port }
}

/**
 * `systemctl stop` while an old generation still drains the held clients: waits until `stopReached`
 * (the stop has reached the processes), then lets the held clients finish; the stop must wait for them.
 */
const stopDuringDrain = async (
  sd: Systemd,
  unit: string,
  held: { finish: () => Promise<Outcome[]> },
  stopReached: () => Promise<unknown>,
): Promise<{ outcomes: Outcome[]; stopMs: number }> => {
  const started = Date.now()
  const stopping = sd.run(`systemctl stop ${unit}`)
  await stopReached()
  const outcomes = await held.finish()
  const stopped = await stopping
  assert.equal(stopped.code, 0, `systemctl stop: ${stopped.stderr}`)
  return { outcomes, stopMs: Date.now() - started }
}

/** What systemd and the server's stderr said about the unit (its JSON lines go to the log file). */
const journal = async (sd: Systemd, unit: string): Promise<string> =>
  (await sd.run(`journalctl -u ${unit} -o cat --no-pager | grep -v '^{' | tail -n 25`)).stdout.trim()

/**
 * After `systemctl stop` has returned: the stop ended well, each of `exiting` logged a clean exit, and
 * nothing of the unit is left: no main pid, no process that logged, none running with its config, no
 * pidfile. Reads the log as it is: nothing can write to it any more.
 */
const assertStoppedCleanly = async (sd: Systemd, unit: string, log: LogFile, exiting: readonly number[], config: string, pidfile: string): Promise<void> => {
  const pids = log.pids() // reads what is left of the log
  const said = await journal(sd, unit)
  assert.equal(await show(sd, unit, 'Result'), 'success', `the stop ended well (not by a timeout, a signal or an exit code); the journal says:\n${said}`)
  for (const pid of exiting) {
    const exit = log.lines.find((l) => l.pid === pid && l.event === 'exit')
    assert.equal(exit?.code, 0, `process ${pid} logged its exit with code 0; the journal says:\n${said}`)
  }
  assert.equal(await mainPidOf(sd, unit), 0, 'systemd knows no main pid')
  assert.equal(await isActive(sd, unit), 'inactive')
  assert.equal(await show(sd, unit, 'NRestarts'), '0', 'systemd never restarted it')
  const alive = await sd.check(`for p in ${pids.join(' ')}; do [ -e /proc/$p ] && echo $p; done; true`)
  assert.equal(alive.trim(), '', `no process that logged is alive (of ${pids.join(', ')})`)
  const running = await sd.check(`ps -eo pid=,args= | grep -F ${config} | grep -v grep; true`)
  assert.equal(running.trim(), '', 'no process runs with this config')
  assert.ok(!fs.existsSync(pidfile), 'no pidfile is left')
}

const assertNoFailure = (stats: Stats, held: readonly Outcome[]): void => {
  assert.deepStrictEqual(stats.examples, [], 'no looping exchange failed')
  assert.deepStrictEqual(
    held.filter((o) => !o.ok),
    [],
    'every held client is served',
  )
  assert.equal(held.length, HELD)
}

const supervised = async (sd: Systemd, diagnose: Diagnose): Promise<void> => {
  const dir = tempDir()
  const unit = `uni-${randomBytes(4).toString('hex')}-supervised.service`
  const { config, pidfile, log, port } = await echoConfig(dir, { workers: 2 })
  const target = { host: '127.0.0.1', port }
  let load: ReturnType<typeof startLoad> | undefined
  try {
    await installUnit(sd, dir, 'uninterruptible-supervised.service', unit, { NODE: process.execPath, APP: ECHO, CONFIG: config })
    await sd.check(`systemctl start ${unit}`)
    const mainPid = await mainPidOf(sd, unit)
    assert.ok(mainPid > 0, 'systemd has a main pid')
    await log.waitFor((l) => l.pid === mainPid && l.event === 'generation-ready' && l.generation === 1, 'generation 1 to serve')
    assert.equal(readPid(pidfile), mainPid, 'the pidfile names the main pid: the supervisor')

    load = startLoad(target, CONCURRENCY)
    const running = load
    let held: { finish: () => Promise<Outcome[]> } | undefined
    for (let generation = 2; generation <= SUPERVISED_RELOADS + 1; generation++) {
      const before = running.stats.exchanges
      // the last reload's old generation still drains these when the stop comes
      if (generation === SUPERVISED_RELOADS + 1) held = await holdClients(target, HELD)
      await sd.check(`systemctl reload ${unit}`)
      await log.waitFor((l) => l.pid === mainPid && l.event === 'generation-replaced' && l.generation === generation, `generation ${generation} to take over`)
      assert.equal(await mainPidOf(sd, unit), mainPid, `MainPID unchanged after reload ${generation - 1}`)
      await until(() => running.stats.exchanges > before, `exchanges during reload ${generation - 1}`)
    }
    const stats = await load.stop()
    assert.equal(await isActive(sd, unit), 'active')
    assert.equal(readPid(pidfile), mainPid)
    assert.ok(held !== undefined)

    const last = SUPERVISED_RELOADS + 1
    const newest: number[] = []
    for (const slot of [0, 1]) {
      // a worker reports ready to the supervisor before it logs: its line may come after generation-replaced
      newest.push((await log.waitFor((l) => l.event === 'listening' && l.worker === slot && l.generation === last, `worker ${slot} of generation ${last} to listen`)).pid)
    }
    const { outcomes, stopMs } = await stopDuringDrain(sd, unit, held, async () => {
      await log.waitFor((l) => l.pid === mainPid && l.event === 'stop-requested', 'the supervisor to get the stop', STOP_REACHES_MS)
      // once the newest workers have stopped, whatever signal the stop sends has reached the draining ones too
      for (const pid of newest) await log.waitFor((l) => l.pid === pid && l.event === 'exit', `worker ${pid} of generation ${last} to exit`, STOP_REACHES_MS)
    })
    diagnose(
      `supervised: ${SUPERVISED_RELOADS} reloads, ${stats.exchanges} exchanges by ${CONCURRENCY} loops, ${stats.failed} failed ${JSON.stringify(stats.byKind)}; ` +
        `MainPID ${mainPid} throughout; stop during the last drain took ${stopMs} ms, ${outcomes.filter((o) => o.ok).length}/${HELD} held clients served; ` +
        `${log.pids().length} processes logged`,
    )
    assertNoFailure(stats, outcomes)
    await assertStoppedCleanly(sd, unit, log, [mainPid], config, pidfile)
  } finally {
    await load?.stop()
    await sd.run(`systemctl kill -s SIGKILL ${unit}; systemctl stop ${unit}; rm -f /run/systemd/system/${unit}`)
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const standalone = async (sd: Systemd, diagnose: Diagnose): Promise<void> => {
  const dir = tempDir()
  const unit = `uni-${randomBytes(4).toString('hex')}-standalone.service`
  const { config, pidfile, log, port } = await echoConfig(dir, {})
  const target = { host: '127.0.0.1', port }
  let load: ReturnType<typeof startLoad> | undefined
  try {
    await installUnit(sd, dir, 'uninterruptible-standalone.service', unit, { NODE: process.execPath, APP: ECHO, CONFIG: config, PIDFILE: pidfile })
    await sd.check(`systemctl start ${unit}`)
    let mainPid = await mainPidOf(sd, unit)
    assert.ok(mainPid > 0, 'systemd has a main pid')
    await log.waitFor((l) => l.pid === mainPid && l.event === 'listening', 'the first generation to listen')
    assert.equal(readPid(pidfile), mainPid)
    const mainPids = [mainPid]

    load = startLoad(target, CONCURRENCY)
    const running = load
    /** Reloads; settles once the successor serves and the old generation drains. */
    const reload = async (): Promise<{ old: number; successor: number }> => {
      const old = mainPid
      await sd.check(`systemctl reload ${unit}`)
      const spawned = await log.waitFor((l) => l.pid === old && l.event === 'successor-spawned', `process ${old} to start a successor`)
      const successor = Number(spawned.successorPid)
      await log.waitFor((l) => l.pid === old && l.event === 'draining', `process ${old} to hand over`)
      assert.equal(readPid(pidfile), successor, 'the pidfile names the successor once it serves')
      return { old, successor }
    }
    for (let i = 1; i <= STANDALONE_RELOADS - 1; i++) {
      const before = running.stats.exchanges
      const { old, successor } = await reload()
      assert.equal((await log.waitFor((l) => l.pid === old && l.event === 'exit', `process ${old} to exit`)).code, 0)
      await eventually(async () => {
        const now = await properties(sd, unit, ['MainPID', 'ActiveState', 'Result'])
        if (now.ActiveState !== 'active' && now.ActiveState !== 'reloading') {
          const state = `${now.ActiveState ?? '?'} (result ${now.Result ?? '?'})`
          throw new Error(`the unit is ${state} after reload ${i}: systemd did not follow ${old} -> ${successor}; ${running.stats.failed} exchanges failed`)
        }
        return Number(now.MainPID) === successor
      }, `MainPID to follow ${old} -> ${successor}`)
      assert.equal(await isActive(sd, unit), 'active', `the unit is active after reload ${i}`)
      assert.equal(readPid(pidfile), successor)
      mainPid = successor
      mainPids.push(successor)
      await until(() => running.stats.exchanges > before, `exchanges during reload ${i}`)
    }
    // the last reload: its old generation still drains the held clients when the stop comes
    const held = await holdClients(target, HELD)
    const { old, successor } = await reload()
    const stats = await load.stop()
    assert.equal(await isActive(sd, unit), 'active')
    assert.equal(await mainPidOf(sd, unit), old, 'systemd follows the successor only once the old process has exited')

    const { outcomes, stopMs } = await stopDuringDrain(sd, unit, held, async () => {
      // KillMode=control-group: the stop's SIGTERM reaches both generations
      await log.waitFor((l) => l.pid === successor && l.event === 'stop-requested', `the new generation ${successor} to get the stop`, STOP_REACHES_MS)
      await log.waitFor((l) => l.pid === old && l.event === 'stop-requested', `the draining generation ${old} to get the stop`, STOP_REACHES_MS)
    })
    diagnose(
      `standalone: ${STANDALONE_RELOADS} reloads, ${stats.exchanges} exchanges by ${CONCURRENCY} loops, ${stats.failed} failed ${JSON.stringify(stats.byKind)}; ` +
        `MainPID followed ${mainPids.join(' -> ')} (then ${successor} took over while ${old} drained); ` +
        `stop during the last drain took ${stopMs} ms, ${outcomes.filter((o) => o.ok).length}/${HELD} held clients served`,
    )
    assertNoFailure(stats, outcomes)
    assert.equal(new Set(mainPids).size, STANDALONE_RELOADS, 'every reload gave a new main pid')
    await assertStoppedCleanly(sd, unit, log, [old, successor], config, pidfile)
  } finally {
    await load?.stop()
    await sd.run(`systemctl kill -s SIGKILL ${unit}; systemctl stop ${unit}; rm -f /run/systemd/system/${unit}`)
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** The standalone unit without its PIDFile= line: the known failure (DESIGN §3 F) the line is there for. */
const withoutPidfile = async (sd: Systemd, diagnose: Diagnose): Promise<void> => {
  const dir = tempDir()
  const unit = `uni-${randomBytes(4).toString('hex')}-no-pidfile.service`
  const { config, log, port } = await echoConfig(dir, {})
  const target = { host: '127.0.0.1', port }
  try {
    await installUnit(sd, dir, 'uninterruptible-standalone.service', unit, { NODE: process.execPath, APP: ECHO, CONFIG: config }, (text) =>
      text.replace(/^PIDFile=.*\n/m, ''),
    )
    await sd.check(`systemctl start ${unit}`)
    const first = await mainPidOf(sd, unit)
    await log.waitFor((l) => l.pid === first && l.event === 'listening', 'the first generation to listen')
    assert.deepStrictEqual(await exchange(target, uniqueLine('before'), 30_000), { ok: true })
    await sd.check(`systemctl reload ${unit}`)
    const successor = Number((await log.waitFor((l) => l.pid === first && l.event === 'successor-spawned', 'a successor')).successorPid)
    await log.waitFor((l) => l.pid === first && l.event === 'exit', 'the first generation to exit after the handoff')
    const stopped = await log.waitFor((l) => l.pid === successor && l.event === 'stop-requested', 'systemd to stop the successor')
    await eventually(async () => (await isActive(sd, unit)) === 'inactive', 'the unit to be inactive')
    const result = await show(sd, unit, 'Result')
    const after = await exchange(target, uniqueLine('after'), 30_000)
    diagnose(`standalone without PIDFile=: after one reload the unit is inactive (result ${result}), the successor ${successor} got ${String(stopped.signal)}, an exchange now: ${after.ok ? 'ok' : after.kind}`)
    assert.equal(stopped.signal, 'SIGTERM')
    assert.equal(result, 'success', "systemd took the old process's exit for a clean end of the service: Restart=on-failure does not bring it back")
    assert.equal(await show(sd, unit, 'NRestarts'), '0')
    assert.equal(after.ok ? 'served' : after.kind, 'refused', 'nothing serves any more')
  } finally {
    await sd.run(`systemctl kill -s SIGKILL ${unit}; systemctl stop ${unit}; rm -f /run/systemd/system/${unit}`)
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const unavailable = systemdUnavailable()

describe('under a real systemd: the example units', { timeout: 240_000, skip: unavailable ?? false }, () => {
  let sd: Systemd | undefined
  const booted = (): Systemd => {
    if (sd === undefined) throw new Error('systemd did not boot')
    return sd
  }
  before(async () => {
    sd = await bootSystemd()
  }, { timeout: 120_000 })
  after(async () => {
    await sd?.poweroff()
  })

  it(`supervised: ${SUPERVISED_RELOADS} reloads under load lose nothing, MainPID never changes, stop during a drain leaves nothing`, (t) =>
    supervised(booted(), (m) => t.diagnostic(m)))
  it(`standalone with PIDFile=: ${STANDALONE_RELOADS} reloads under load lose nothing, MainPID follows each generation, stop during a drain leaves nothing`, (t) =>
    standalone(booted(), (m) => t.diagnostic(m)))
  it('standalone without PIDFile= (why the unit has it): the first reload ends the service, the new process with it', (t) =>
    withoutPidfile(booted(), (m) => t.diagnostic(m)))
})
