/**
 * The unit files of examples/systemd under a real systemd (booted once for this file in a pid namespace,
 * see support/systemd), with this checkout's `uninterruptible` command as ExecReload (and the standalone
 * unit's ExecStop) and a server that says which release it runs (fixtures/release: it reads a `release`
 * file at start, and fails at start while a `broken` file exists). In both modes, under load: each good
 * deploy's `systemctl reload` exits 0 only once the new code serves (the first exchange after it gets
 * the new release, from a pid the command named); a broken deploy's exits non-zero, `systemctl status`
 * shows the command's reason, the unit stays active and the old code answers; nothing is lost; systemd
 * keeps track of the main pid (the supervisor's never changes; a standalone server's follows each new
 * generation through the pidfile, also when the old process exits while the reload command still runs);
 * and `systemctl stop` while an old generation still drains serves what it holds and leaves nothing.
 * The KillMode each unit sets is what makes that last step pass (see the comments in the units). A
 * standalone stop drains also when systemd took the main pid from the pidfile while it was not
 * systemd's child (good reload, broken reload, stop, five times in a row): the standalone unit's
 * ExecStop is what makes that pass. One more test keeps the known failure in view: the standalone unit
 * without PIDFile= ends at its first reload. Pids here are the namespace's: systemctl, the pidfile, the
 * log, the command and the server's answers all report those.
 */
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { exchange, holdClients, type Outcome, type Stats, startLoad, uniqueLine } from '../support/echoLoad'
import { DIST, freePort, HANG_MS, LogFile, readPid, ROOT, tempDir, until, writeJson } from '../support/harness'
import { bootedForSuite, type Systemd, systemdUnavailable } from '../support/systemd'

/** The server: the echo server that also tells which release it runs. */
const APP = path.join(DIST, 'test/fixtures/release.js')
/** The `uninterruptible` command, which ExecReload runs. */
const CLI = path.join(DIST, 'lib/cli.js')

/** Good deploys per mode; one broken deploy comes before the last of them. */
const SUPERVISED_RELOADS = 5
const STANDALONE_RELOADS = 5
const CONCURRENCY = 24
const HELD = 4
/** How long a stop may take to reach the processes: far less than TimeoutStopSec, after which systemd SIGKILLs. */
const STOP_REACHES_MS = 30_000

type Diagnose = (message: string) => void
type Address = { readonly host: string; readonly port: number }

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
const mainPidOf = async (sd: Systemd, unit: string): Promise<number> => Number(await show(sd, unit, 'MainPID'))
const isActive = async (sd: Systemd, unit: string): Promise<string> => (await sd.run(`systemctl is-active ${unit}`)).stdout.trim()
/** Whether `pid` (the namespace's) has been reaped. */
const reaped = async (sd: Systemd, pid: number): Promise<boolean> => (await sd.run(`test -e /proc/${pid}`)).code !== 0

/** Polls an asynchronous check (systemd's state gives the test no event) until it holds. */
const eventually = async (check: () => Promise<boolean>, what: string, hangMs = HANG_MS): Promise<void> => {
  const deadline = Date.now() + hangMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`hung waiting for ${what} (${hangMs} ms)`)
    await new Promise((r) => setTimeout(r, 50))
  }
}

interface Server {
  readonly dir: string
  readonly config: string
  readonly pidfile: string
  readonly controlPath: string
  readonly log: LogFile
  readonly target: Address
}

/** A config on a free TCP port with a control socket, its pidfile and log in `dir`; release r1 on disk. */
const releaseServer = async (dir: string, extra: Readonly<Record<string, unknown>>): Promise<Server> => {
  const port = await freePort()
  const pidfile = path.join(dir, 'app.pid')
  const logPath = path.join(dir, 'app.log')
  const controlPath = path.join(dir, 'control.sock')
  const config = writeJson(path.join(dir, 'app.json'), {
    bind: `tcp://127.0.0.1:${port}`,
    pidfilePath: pidfile,
    logPath,
    controlPath,
    probationMs: 200,
    readyTimeoutMs: 60_000,
    drainTimeoutMs: 60_000,
    ...extra,
  })
  deploy(dir, 'r1')
  return { dir, config, pidfile, controlPath, log: new LogFile(logPath), target: { host: '127.0.0.1', port } }
}

/**
 * Puts release `name` on disk: the code a process started from now on runs; `broken` makes it fail at
 * start: throw, or exit with the code given (see fixtures/release).
 */
const deploy = (dir: string, name: string, broken: false | 'throws' | number = false): void => {
  fs.writeFileSync(path.join(dir, 'release'), `${name}\n`)
  if (broken !== false) fs.writeFileSync(path.join(dir, 'broken'), broken === 'throws' ? '' : `${broken}\n`)
  else fs.rmSync(path.join(dir, 'broken'), { force: true })
}

/** Asks the server which code answers: "release NAME pid PID" (see fixtures/release). */
const askRelease = (target: Address): Promise<{ readonly release: string; readonly pid: number }> =>
  new Promise((resolve, reject) => {
    const socket = net.connect(target)
    let got = ''
    socket.setEncoding('utf8')
    socket.setTimeout(30_000, () => socket.destroy(new Error('no answer within 30 s')))
    socket.once('connect', () => socket.write('release?\n'))
    socket.on('data', (d: string) => (got += d))
    socket.once('error', reject)
    socket.once('close', () => {
      const m = /^release (\S+) pid (\d+)\n$/.exec(got)
      if (m?.[1] !== undefined && m[2] !== undefined) resolve({ release: m[1], pid: Number(m[2]) })
      else reject(new Error(`not an answer to release?: ${JSON.stringify(got)}`))
    })
  })

/** The lines `uninterruptible restart` (ExecReload) wrote to the unit's journal, oldest first. */
const commandLines = async (sd: Systemd, unit: string): Promise<string[]> =>
  (await sd.check(`journalctl -u ${unit} -o cat --no-pager | grep -E '^(restarted|restart failed|restart refused|uninterruptible): '; true`))
    .split('\n')
    .filter((l) => l !== '')

/**
 * The outcome line of the reload that just returned: the command wrote it before it exited, but the
 * journal may file it an instant later.
 */
const outcomeLine = async (sd: Systemd, unit: string, seen: { count: number }): Promise<string> => {
  let lines: string[] = []
  await eventually(async () => (lines = await commandLines(sd, unit)).length > seen.count, "the reload command's line in the journal", 15_000)
  assert.equal(lines.length, seen.count + 1, `one line per reload: ${lines.slice(seen.count).join(' | ')}`)
  seen.count = lines.length
  return lines[lines.length - 1] ?? ''
}

interface Deployed {
  readonly generation: number
  readonly pids: readonly number[]
  readonly answeredBy: number
}

/**
 * A good deploy: release `name` on disk, then `systemctl reload` must exit 0, and the first exchange after
 * it returned must already get the new code, from a pid the command named as the new generation's.
 */
const goodDeploy = async (sd: Systemd, unit: string, s: Server, name: string, seen: { count: number }): Promise<Deployed> => {
  deploy(s.dir, name)
  const reload = await sd.run(`systemctl reload ${unit}`)
  const answer = await askRelease(s.target) // the first thing once the reload has returned
  assert.equal(reload.code, 0, `systemctl reload exits 0 for release ${name}: ${reload.stderr}`)
  const line = await outcomeLine(sd, unit, seen)
  const m = /^restarted: generation (\d+) serves \(pids? ([\d, ]+)\)$/.exec(line)
  assert.ok(m?.[1] !== undefined && m[2] !== undefined, `the command says the new generation serves: ${line}`)
  const pids = m[2].split(', ').map(Number)
  assert.equal(answer.release, name, `the new code answers as soon as systemctl reload has returned (${line})`)
  assert.ok(pids.includes(answer.pid), `the answer came from the new generation: pid ${answer.pid}, the command named ${pids.join(', ')}`)
  return { generation: Number(m[1]), pids, answeredBy: answer.pid }
}

interface Broken {
  readonly line: string
  /** The lines of `systemctl status` that show the failed reload. */
  readonly status: readonly string[]
  readonly answer: { readonly release: string; readonly pid: number }
}

/**
 * A broken deploy: release `name` on disk with the flag that makes it throw at start (or, given
 * `exitCode`, exit with it); `systemctl reload` must exit non-zero, `systemctl status` show the
 * command's reason and the unit still active, and the old code (`serving`) answer. Removes the flag again.
 */
const brokenDeploy = async (sd: Systemd, unit: string, s: Server, name: string, serving: string, seen: { count: number }, exitCode?: number): Promise<Broken> => {
  deploy(s.dir, name, exitCode ?? 'throws')
  const reload = await sd.run(`systemctl reload ${unit}`)
  const answer = await askRelease(s.target)
  deploy(s.dir, name)
  assert.notEqual(reload.code, 0, 'systemctl reload fails')
  assert.match(reload.stderr, new RegExp(`^Job for ${unit.replaceAll('.', '\\.')} failed\\.`))
  const line = await outcomeLine(sd, unit, seen)
  const why = exitCode === undefined ? `1 before it was ready \\(it threw: broken deploy: release ${name} throws at start\\)` : `${exitCode} before it was ready`
  assert.match(line, new RegExp(`^restart failed: generation \\d+: .*exited with code ${why}; the old generation serves on$`))
  // the journal has the line already (outcomeLine waited for it): status shows it among its last lines
  const status = await sd.run(`systemctl status --no-pager ${unit}`)
  assert.equal(status.code, 0, 'systemctl status exits 0: the unit is active')
  const said = status.stdout.split('\n')
  const shown = said.filter((l) => /^\s+Active: |^\s+Process: \d+ ExecReload=|restart failed: |failure: "exited"|Reload failed|Control process exited/.test(l))
  assert.ok(said.some((l) => /^\s+Active: active \(running\)/.test(l)), `status: active (running)\n${status.stdout}`)
  assert.ok(said.some((l) => new RegExp(`^\\s+Process: \\d+ ExecReload=${process.execPath} ${CLI} restart \\S+ \\(code=exited, status=1/FAILURE\\)$`).test(l)), `status shows the reload command's exit\n${status.stdout}`)
  assert.ok(said.some((l) => l.endsWith(`: ${line}`)), `status shows the command's reason\n${status.stdout}`)
  assert.equal(await isActive(sd, unit), 'active')
  assert.equal(await show(sd, unit, 'ReloadResult'), 'exit-code')
  assert.equal(await show(sd, unit, 'NRestarts'), '0', 'nothing was restarted')
  assert.equal(answer.release, serving, 'the old code answers')
  return { line, status: shown, answer }
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

/** What systemd, the reload command and the server's stderr said about the unit (its JSON lines go to the log file). */
const journal = async (sd: Systemd, unit: string): Promise<string> =>
  (await sd.run(`journalctl -u ${unit} -o cat --no-pager | grep -v '^{' | tail -n 25`)).stdout.trim()

/**
 * After `systemctl stop` has returned: the stop ended well, each of `exiting` logged a clean exit, and
 * nothing of the unit is left: no main pid, no process that logged, none running with its config, no
 * pidfile, no control socket. Reads the log as it is: nothing can write to it any more.
 */
const assertStoppedCleanly = async (sd: Systemd, unit: string, s: Server, exiting: readonly number[]): Promise<void> => {
  const pids = s.log.pids() // reads what is left of the log
  const said = await journal(sd, unit)
  assert.equal(await show(sd, unit, 'Result'), 'success', `the stop ended well (not by a timeout, a signal or an exit code); the journal says:\n${said}`)
  for (const pid of exiting) {
    const exit = s.log.lines.find((l) => l.pid === pid && l.event === 'exit')
    assert.equal(exit?.code, 0, `process ${pid} logged its exit with code 0; the journal says:\n${said}`)
  }
  assert.equal(await mainPidOf(sd, unit), 0, 'systemd knows no main pid')
  assert.equal(await isActive(sd, unit), 'inactive')
  assert.equal(await show(sd, unit, 'NRestarts'), '0', 'systemd never restarted it')
  const alive = await sd.check(`for p in ${pids.join(' ')}; do [ -e /proc/$p ] && echo $p; done; true`)
  assert.equal(alive.trim(), '', `no process that logged is alive (of ${pids.join(', ')})`)
  const running = await sd.check(`ps -eo pid=,args= | grep -F ${s.config} | grep -v grep; true`)
  assert.equal(running.trim(), '', 'no process runs with this config')
  assert.ok(!fs.existsSync(s.pidfile), 'no pidfile is left')
  assert.ok(!fs.existsSync(s.controlPath), 'no control socket is left')
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

const cleanUp = async (sd: Systemd, unit: string, dir: string): Promise<void> => {
  await sd.run(`systemctl kill -s SIGKILL ${unit}; systemctl stop ${unit}; rm -f /run/systemd/system/${unit}`)
  fs.rmSync(dir, { recursive: true, force: true })
}

const supervised = async (sd: Systemd, diagnose: Diagnose): Promise<void> => {
  const dir = tempDir()
  const unit = `uni-${randomBytes(4).toString('hex')}-supervised.service`
  const s = await releaseServer(dir, { workers: 2 })
  const { log } = s
  const seen = { count: 0 }
  let load: ReturnType<typeof startLoad> | undefined
  try {
    await installUnit(sd, dir, 'uninterruptible-supervised.service', unit, { NODE: process.execPath, APP, CONFIG: s.config, CLI })
    await sd.check(`systemctl start ${unit}`)
    const mainPid = await mainPidOf(sd, unit)
    assert.ok(mainPid > 0, 'systemd has a main pid')
    await log.waitFor((l) => l.pid === mainPid && l.event === 'generation-ready' && l.generation === 1, 'generation 1 to serve')
    assert.equal(readPid(s.pidfile), mainPid, 'the pidfile names the main pid: the supervisor')
    assert.equal((await askRelease(s.target)).release, 'r1')

    load = startLoad(s.target, CONCURRENCY)
    const running = load
    /** A good deploy under load: the supervisor logged the new generation's takeover, and kept its pid. */
    const good = async (release: string): Promise<Deployed> => {
      const before = running.stats.exchanges
      const d = await goodDeploy(sd, unit, s, release, seen)
      assert.equal(d.pids.length, 2, 'two workers')
      await log.waitFor((l) => l.pid === mainPid && l.event === 'generation-replaced' && l.generation === d.generation, `generation ${d.generation} to take over`)
      assert.equal(await mainPidOf(sd, unit), mainPid, `MainPID unchanged after release ${release}`)
      await until(() => running.stats.exchanges > before, `exchanges during the reload to ${release}`)
      return d
    }
    const deployed: Deployed[] = []
    for (let i = 2; i <= SUPERVISED_RELOADS; i++) deployed.push(await good(`r${i}`))
    const serving = deployed[deployed.length - 1]
    assert.ok(serving !== undefined)

    // a broken deploy under load: the reload fails, the old workers serve on
    const before = running.stats.exchanges
    const broken = await brokenDeploy(sd, unit, s, `r${SUPERVISED_RELOADS + 1}`, `r${SUPERVISED_RELOADS}`, seen)
    assert.ok(serving.pids.includes(broken.answer.pid), `an old worker answered (pid ${broken.answer.pid})`)
    await log.waitFor((l) => l.pid === mainPid && l.event === 'generation-failed', 'the supervisor to log the failed generation')
    assert.equal(await mainPidOf(sd, unit), mainPid)
    await until(() => running.stats.exchanges > before, 'exchanges during the broken deploy')

    // the fixed release: the last reload's old generation still drains these when the stop comes
    const held = await holdClients(s.target, HELD)
    const last = await good(`r${SUPERVISED_RELOADS + 1}`)
    deployed.push(last)
    const stats = await load.stop()
    assert.equal(await isActive(sd, unit), 'active')
    assert.equal(await show(sd, unit, 'ReloadResult'), 'success')
    assert.equal(readPid(s.pidfile), mainPid)

    const { outcomes, stopMs } = await stopDuringDrain(sd, unit, held, async () => {
      await log.waitFor((l) => l.pid === mainPid && l.event === 'stop-requested', 'the supervisor to get the stop', STOP_REACHES_MS)
      // once the newest workers have stopped, whatever signal the stop sends has reached the draining ones too
      for (const pid of last.pids) await log.waitFor((l) => l.pid === pid && l.event === 'exit', `worker ${pid} of generation ${last.generation} to exit`, STOP_REACHES_MS)
    })
    diagnose(
      `supervised: ${deployed.length} good reloads (${deployed.map((d) => `gen ${d.generation}`).join(', ')}) and 1 broken, ` +
        `${stats.exchanges} exchanges by ${CONCURRENCY} loops, ${stats.failed} failed ${JSON.stringify(stats.byKind)}; ` +
        `MainPID ${mainPid} throughout; stop during the last drain took ${stopMs} ms, ${outcomes.filter((o) => o.ok).length}/${HELD} held clients served; ` +
        `${log.pids().length} processes logged`,
    )
    diagnose(`supervised, broken deploy: old code answered "${broken.answer.release}" from pid ${broken.answer.pid}; systemctl status showed:\n${broken.status.join('\n')}`)
    assertNoFailure(stats, outcomes)
    await assertStoppedCleanly(sd, unit, s, [mainPid])
  } finally {
    await load?.stop()
    await cleanUp(sd, unit, dir)
  }
}

const standalone = async (sd: Systemd, diagnose: Diagnose): Promise<void> => {
  const dir = tempDir()
  const unit = `uni-${randomBytes(4).toString('hex')}-standalone.service`
  const s = await releaseServer(dir, {})
  const { log } = s
  const seen = { count: 0 }
  let load: ReturnType<typeof startLoad> | undefined
  try {
    await installUnit(sd, dir, 'uninterruptible-standalone.service', unit, { NODE: process.execPath, APP, CONFIG: s.config, PIDFILE: s.pidfile, CLI })
    await sd.check(`systemctl start ${unit}`)
    let mainPid = await mainPidOf(sd, unit)
    assert.ok(mainPid > 0, 'systemd has a main pid')
    await log.waitFor((l) => l.pid === mainPid && l.event === 'listening', 'the first generation to listen')
    assert.equal(readPid(s.pidfile), mainPid)
    assert.deepStrictEqual(await askRelease(s.target), { release: 'r1', pid: mainPid })
    const mainPids = [mainPid]

    load = startLoad(s.target, CONCURRENCY)
    const running = load
    /**
     * A good deploy under load: the command named the successor the old process started, and as the
     * reload ends systemd re-reads the pidfile: MainPID is the successor at once, while the old process
     * may still drain.
     */
    const good = async (release: string): Promise<{ old: number; successor: number }> => {
      const old = mainPid
      const d = await goodDeploy(sd, unit, s, release, seen)
      const [successor] = d.pids
      assert.ok(successor !== undefined && d.pids.length === 1, 'one new process')
      // the old process started the successor the command named (after a broken deploy, its second one)
      await log.waitFor((l) => l.pid === old && l.event === 'successor-spawned' && Number(l.successorPid) === successor, `process ${old} to start ${successor}`)
      await log.waitFor((l) => l.pid === old && l.event === 'draining', `process ${old} to hand over`)
      assert.equal(readPid(s.pidfile), successor, 'the pidfile names the successor once it serves')
      const mp = await mainPidOf(sd, unit)
      assert.equal(mp, successor, 'MainPID is the successor as soon as the reload has returned')
      mainPid = successor
      mainPids.push(successor)
      return { old, successor }
    }
    for (let i = 2; i <= STANDALONE_RELOADS; i++) {
      const before = running.stats.exchanges
      const { old, successor } = await good(`r${i}`)
      assert.equal((await log.waitFor((l) => l.pid === old && l.event === 'exit', `process ${old} to exit`)).code, 0)
      await eventually(() => reaped(sd, old), `systemd to reap ${old}`)
      // the old process's exit, once systemd has reaped it, changed nothing: the unit is active on the successor
      assert.equal(await isActive(sd, unit), 'active', `the unit is active after the old process ${old} exited; ${running.stats.failed} exchanges failed`)
      assert.equal(await mainPidOf(sd, unit), successor)
      await until(() => running.stats.exchanges > before, `exchanges during the reload to r${i}`)
    }

    // a broken deploy under load: the reload fails, the old process serves on, still the main pid
    const before = running.stats.exchanges
    const broken = await brokenDeploy(sd, unit, s, `r${STANDALONE_RELOADS + 1}`, `r${STANDALONE_RELOADS}`, seen)
    assert.equal(broken.answer.pid, mainPid, 'the old process answered')
    await log.waitFor((l) => l.pid === mainPid && l.event === 'successor-failed', 'the server to log the failed successor')
    assert.equal(await mainPidOf(sd, unit), mainPid, 'MainPID unchanged')
    assert.equal(readPid(s.pidfile), mainPid, 'the pidfile unchanged')
    await until(() => running.stats.exchanges > before, 'exchanges during the broken deploy')

    // the fixed release: its old process still drains the held clients when the stop comes
    const held = await holdClients(s.target, HELD)
    const { old, successor } = await good(`r${STANDALONE_RELOADS + 1}`)
    const stats = await load.stop()
    assert.equal(await isActive(sd, unit), 'active')
    assert.equal(await show(sd, unit, 'ReloadResult'), 'success')
    assert.ok(!(await reaped(sd, old)), `the old process ${old} still drains, not the main pid any more`)

    const { outcomes, stopMs } = await stopDuringDrain(sd, unit, held, async () => {
      // ExecStop stops the new generation; once it has exited, KillMode=control-group's SIGTERM reaches the draining one
      await log.waitFor((l) => l.pid === successor && l.event === 'stop-requested', `the new generation ${successor} to get the stop`, STOP_REACHES_MS)
      await log.waitFor((l) => l.pid === old && l.event === 'stop-requested', `the draining generation ${old} to get the stop`, STOP_REACHES_MS)
    })
    diagnose(
      `standalone: ${mainPids.length - 1} good reloads and 1 broken, ${stats.exchanges} exchanges by ${CONCURRENCY} loops, ${stats.failed} failed ${JSON.stringify(stats.byKind)}; ` +
        `MainPID followed ${mainPids.join(' -> ')} (the last as its reload returned, while ${old} drained); ` +
        `stop during the last drain took ${stopMs} ms, ${outcomes.filter((o) => o.ok).length}/${HELD} held clients served`,
    )
    diagnose(`standalone, broken deploy: old code answered "${broken.answer.release}" from pid ${broken.answer.pid}; systemctl status showed:\n${broken.status.join('\n')}`)
    assertNoFailure(stats, outcomes)
    assert.equal(new Set(mainPids).size, STANDALONE_RELOADS + 1, 'every good reload gave a new main pid')
    await assertStoppedCleanly(sd, unit, s, [old, successor])
  } finally {
    await load?.stop()
    await cleanUp(sd, unit, dir)
  }
}

/**
 * The standalone unit with a second ExecReload= line that sleeps: the old process, with nothing to
 * drain, exits while the reload is still going on. systemd must follow the pidfile at that exit (the
 * unit stays "reloading", then active), kill nothing, and the reload must succeed.
 */
const oldExitsDuringReload = async (sd: Systemd, diagnose: Diagnose): Promise<void> => {
  const dir = tempDir()
  const unit = `uni-${randomBytes(4).toString('hex')}-slow-reload.service`
  const s = await releaseServer(dir, {})
  const { log } = s
  try {
    await installUnit(sd, dir, 'uninterruptible-standalone.service', unit, { NODE: process.execPath, APP, CONFIG: s.config, PIDFILE: s.pidfile, CLI }, (text) =>
      text.replace(/^(ExecReload=.* restart .*\n)/m, '$1ExecReload=/bin/sleep 3\n'),
    )
    await sd.check(`systemctl start ${unit}`)
    const old = await mainPidOf(sd, unit)
    await log.waitFor((l) => l.pid === old && l.event === 'listening', 'the first generation to listen')
    deploy(s.dir, 'r2')
    const state = { returned: false }
    const reloading = sd.run(`systemctl reload ${unit}`).finally(() => (state.returned = true))
    const successor = Number((await log.waitFor((l) => l.pid === old && l.event === 'successor-spawned', 'a successor')).successorPid)
    assert.equal((await log.waitFor((l) => l.pid === old && l.event === 'exit', `process ${old} to exit`)).code, 0)
    await eventually(() => reaped(sd, old), `systemd to reap ${old}`)
    const during = { mainPid: await mainPidOf(sd, unit), active: await isActive(sd, unit), returned: state.returned }
    assert.deepStrictEqual(during, { mainPid: successor, active: 'reloading', returned: false }, 'the old process exited while the reload went on: systemd took the successor from the pidfile')
    const reload = await reloading
    assert.equal(reload.code, 0, `systemctl reload: ${reload.stderr}`)
    assert.equal(await isActive(sd, unit), 'active')
    assert.equal(await mainPidOf(sd, unit), successor)
    assert.equal(await show(sd, unit, 'NRestarts'), '0')
    assert.deepStrictEqual(await askRelease(s.target), { release: 'r2', pid: successor })
    assert.equal(log.lines.find((l) => l.pid === successor && l.event === 'stop-requested'), undefined, 'nothing signalled the successor')
    diagnose(`old main pid ${old} exited while the reload ran (unit ${during.active}, MainPID already ${during.mainPid}); the reload then exited ${reload.code}, the unit is active, ${successor} answers r2`)
    await sd.check(`systemctl stop ${unit}`)
    await assertStoppedCleanly(sd, unit, s, [old, successor])
  } finally {
    await cleanUp(sd, unit, dir)
  }
}

/** Rounds of the sequence good reload, broken reload, stop. */
const STOP_ROUNDS = 5
/** The events of a process's stop: a drain logs stop-requested, draining, drained, exit; a kill, less. */
const STOP_EVENTS: readonly string[] = ['stop-requested', 'draining', 'drained', 'forced-exit', 'exit']

interface StopRound {
  readonly successor: number
  /** The unit's journal lines (systemd's) that tell of a SIGKILL. */
  readonly killed: readonly string[]
  readonly result: string
  /** What the successor logged about its stop, in order. */
  readonly events: readonly string[]
  /** The code the successor logged at exit; undefined: it logged none (it was killed). */
  readonly exitCode: number | undefined
  /** The client held through the stop. */
  readonly held: Outcome
  /** Why the unit was not stopped cleanly (see assertStoppedCleanly); undefined if it was. */
  readonly unclean: string | undefined
}

/**
 * One round with the standalone unit: a good reload that returns while the old process still drains a
 * held client, so that systemd takes the successor's pid from the pidfile while it is the old process's
 * child, not systemd's (systemd says "Supervising process N which is not our child"); the old process
 * then exits; a broken reload (the new code exits with code 3); and `systemctl stop` with one client
 * held on the successor. Reports how the stop went rather than asserting it, so that every round runs.
 */
const stopRound = async (sd: Systemd): Promise<StopRound> => {
  const dir = tempDir()
  const unit = `uni-${randomBytes(4).toString('hex')}-stop-after-failed-reload.service`
  const s = await releaseServer(dir, {})
  const { log } = s
  const seen = { count: 0 }
  try {
    await installUnit(sd, dir, 'uninterruptible-standalone.service', unit, { NODE: process.execPath, APP, CONFIG: s.config, PIDFILE: s.pidfile, CLI })
    await sd.check(`systemctl start ${unit}`)
    const old = await mainPidOf(sd, unit)
    await log.waitFor((l) => l.pid === old && l.event === 'listening', 'the first generation to listen')

    const onOld = await holdClients(s.target, 1)
    const [successor] = (await goodDeploy(sd, unit, s, 'r2', seen)).pids
    assert.ok(successor !== undefined)
    assert.equal(await mainPidOf(sd, unit), successor, 'MainPID is the successor once the reload has returned')
    assert.ok(!(await reaped(sd, old)), `the old process ${old} still drains as the reload returns`)
    // what this round is about: systemd took the successor as main pid while it was not systemd's child
    const journalText = await sd.check(`journalctl -u ${unit} -o cat --no-pager`)
    assert.ok(journalText.includes(`Supervising process ${successor} which is not our child`), `systemd adopted ${successor} while its parent ${old} ran:\n${journalText}`)
    assert.deepStrictEqual(await onOld.finish(), [{ ok: true }], 'the client held on the old process is served')
    assert.equal((await log.waitFor((l) => l.pid === old && l.event === 'exit', `process ${old} to exit`)).code, 0)
    await eventually(() => reaped(sd, old), `systemd to reap ${old}`)

    await brokenDeploy(sd, unit, s, 'r3', 'r2', seen, 3)
    await log.waitFor((l) => l.pid === successor && l.event === 'successor-failed', 'the server to log the failed successor')
    assert.equal(await mainPidOf(sd, unit), successor, 'MainPID unchanged by the broken reload')
    assert.equal(readPid(s.pidfile), successor, 'the pidfile names the serving process again')

    const onSuccessor = await holdClients(s.target, 1)
    const state = { returned: false }
    const stopping = sd.run(`systemctl stop ${unit}`).finally(() => (state.returned = true))
    const draining = (): boolean => {
      log.pids() // reads what the log holds now
      return log.lines.some((l) => l.pid === successor && l.event === 'draining')
    }
    // until the stop has reached the successor (then it answers the held client if it drains), or is over
    await eventually(() => Promise.resolve(state.returned || draining()), 'the stop to reach the successor', STOP_REACHES_MS)
    const [held] = await onSuccessor.finish()
    const stopped = await stopping
    assert.equal(stopped.code, 0, `systemctl stop: ${stopped.stderr}`)
    assert.ok(held !== undefined)

    const said = (await sd.check(`journalctl -u ${unit} -o cat --no-pager`)).split('\n').filter((l) => !l.startsWith('{'))
    const unclean = await assertStoppedCleanly(sd, unit, s, [old, successor]).then(
      () => undefined,
      (e: unknown) => (e instanceof Error ? e.message : String(e)),
    )
    log.pids() // reads the rest of the log
    const ofSuccessor = log.lines.filter((l) => l.pid === successor && STOP_EVENTS.includes(l.event ?? ''))
    return {
      successor,
      killed: said.filter((l) => /SIGKILL|code=killed/.test(l)),
      result: await show(sd, unit, 'Result'),
      events: ofSuccessor.map((l) => l.event ?? ''),
      exitCode: ((code: unknown) => (typeof code === 'number' ? code : undefined))(ofSuccessor.find((l) => l.event === 'exit')?.code),
      held,
      unclean,
    }
  } finally {
    await cleanUp(sd, unit, dir)
  }
}

/**
 * The sequence good reload, broken reload, stop, STOP_ROUNDS times in a row: each stop must drain the
 * successor (it serves the held client, logs draining, drained and exit 0), the unit end inactive with
 * result success, and nothing be left. systemd signals nothing with SIGKILL.
 */
const stopAfterFailedReload = async (sd: Systemd, diagnose: Diagnose): Promise<void> => {
  const rounds: StopRound[] = []
  for (let i = 0; i < STOP_ROUNDS; i++) rounds.push(await stopRound(sd))
  const bad = rounds.filter((r) => r.killed.length > 0 || r.exitCode !== 0 || !r.held.ok || r.unclean !== undefined)
  const describeRound = (r: StopRound): string =>
    `successor ${r.successor}: ${r.events.join(', ')}; exit ${String(r.exitCode)}; held client ${r.held.ok ? 'served' : `${r.held.kind} (${r.held.detail})`}; result ${r.result}` +
    (r.killed.length > 0 ? `; systemd: ${r.killed.length} lines of SIGKILL, the last "${r.killed[r.killed.length - 1] ?? ''}"` : '') +
    (r.unclean !== undefined ? `; failed check: ${r.unclean.split('\n')[0] ?? ''}` : '')
  diagnose(`${rounds.length - bad.length} of ${rounds.length} stops drained; ${rounds.filter((r) => r.killed.length > 0).length} with a SIGKILL from systemd`)
  for (const r of rounds) diagnose(describeRound(r))
  assert.deepStrictEqual(bad.map(describeRound), [], `every stop drained the successor and left nothing (${bad.length} of ${rounds.length} did not)`)
  for (const r of rounds) assert.deepStrictEqual(r.events, ['stop-requested', 'draining', 'drained', 'exit'], `successor ${r.successor} stopped by draining`)
}

/** The standalone unit without its PIDFile= line: the known failure (docs/ARCHITECTURE.md, "Node traps") the line is there for. */
const withoutPidfile = async (sd: Systemd, diagnose: Diagnose): Promise<void> => {
  const dir = tempDir()
  const unit = `uni-${randomBytes(4).toString('hex')}-no-pidfile.service`
  const s = await releaseServer(dir, {})
  const { log, target } = s
  try {
    await installUnit(sd, dir, 'uninterruptible-standalone.service', unit, { NODE: process.execPath, APP, CONFIG: s.config, CLI }, (text) =>
      text.replace(/^PIDFile=.*\n/m, ''),
    )
    await sd.check(`systemctl start ${unit}`)
    const first = await mainPidOf(sd, unit)
    await log.waitFor((l) => l.pid === first && l.event === 'listening', 'the first generation to listen')
    assert.deepStrictEqual(await exchange(target, uniqueLine('before'), 30_000), { ok: true })
    const reload = await sd.run(`systemctl reload ${unit}`)
    const successor = Number((await log.waitFor((l) => l.pid === first && l.event === 'successor-spawned', 'a successor')).successorPid)
    await log.waitFor((l) => l.pid === first && l.event === 'exit', 'the first generation to exit after the handoff')
    const stopped = await log.waitFor((l) => l.pid === successor && l.event === 'stop-requested', 'systemd to stop the successor')
    await eventually(async () => (await isActive(sd, unit)) === 'inactive', 'the unit to be inactive')
    const result = await show(sd, unit, 'Result')
    const after = await exchange(target, uniqueLine('after'), 30_000)
    diagnose(
      `standalone without PIDFile=: the reload exited ${reload.code}, then the unit is inactive (result ${result}), ` +
        `the successor ${successor} was stopped by ${String(stopped.by ?? stopped.signal)}, an exchange now: ${after.ok ? 'ok' : after.kind}`,
    )
    assert.equal(stopped.by, 'control', 'systemd stopped the unit as on `systemctl stop`: its ExecStop stopped the successor')
    assert.equal(result, 'success', "systemd took the old process's exit for a clean end of the service: Restart=on-failure does not bring it back")
    assert.equal(await show(sd, unit, 'NRestarts'), '0')
    assert.equal(after.ok ? 'served' : after.kind, 'refused', 'nothing serves any more')
  } finally {
    await cleanUp(sd, unit, dir)
  }
}

const unavailable = systemdUnavailable()

describe('under a real systemd: the example units', { timeout: 240_000, skip: unavailable ?? false }, () => {
  const booted = bootedForSuite()

  it(`supervised: ${SUPERVISED_RELOADS} good reloads under load exit 0 once the new code serves, a broken one fails with the reason while the old code serves on; nothing lost, MainPID never changes, stop during a drain leaves nothing`, (t) =>
    supervised(booted(), (m) => t.diagnostic(m)))
  it(`standalone with PIDFile=: ${STANDALONE_RELOADS} good reloads under load exit 0 once the new code serves, a broken one fails with the reason while the old code serves on; nothing lost, MainPID follows each generation, stop during a drain leaves nothing`, (t) =>
    standalone(booted(), (m) => t.diagnostic(m)))
  it('standalone: the old main process exits while the reload command still runs; systemd follows the pidfile then and kills nothing', (t) =>
    oldExitsDuringReload(booted(), (m) => t.diagnostic(m)))
  it(`standalone: good reload (old process still draining as it returns), broken reload (exit 3), then stop, ${STOP_ROUNDS} times: every stop drains, ends inactive, leaves nothing; no SIGKILL`, (t) =>
    stopAfterFailedReload(booted(), (m) => t.diagnostic(m)))
  it('standalone without PIDFile= (why the unit has it): the first reload ends the service, the new process with it', (t) =>
    withoutPidfile(booted(), (m) => t.diagnostic(m)))
})
