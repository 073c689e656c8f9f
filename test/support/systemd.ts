/**
 * A real systemd for integration tests: the machine's own /lib/systemd/systemd booted as PID 1 of a new
 * pid and mount namespace, with a private /run (unit files go to /run/systemd/system), commands run inside
 * it with nsenter. The network and every other filesystem are shared with the test process, so a client
 * out here reaches a service in there, and files under /tmp are seen from both sides. Pids that
 * systemctl, pidfiles and log lines report are the namespace's. Needs root, unshare and nsenter.
 *
 * The approach is that of the project's shared tools/with-systemd.sh (boot in `unshare --pid --fork
 * --mount --mount-proc` with a tmpfs on /run, wait for `systemctl is-system-running`, nsenter,
 * `systemctl poweroff`), rewritten here so the tests do not depend on that script. One difference: that
 * script boots the machine's multi-user.target, which here started PostgreSQL, applied sysctls, loaded
 * kernel modules, ran a dpkg backup timer and wrote a persistent journal to the shared /var/log/journal;
 * this one boots a minimal target (see INIT).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { after, before } from 'node:test'

export const SYSTEMD = '/lib/systemd/systemd'

/** How long systemd may take to boot on a loaded machine. */
const BOOT_MS = 90_000
/** How long a command run inside may take before `timeout` ends it. */
const RUN_MS = 120_000
/** How long a poweroff may take before the namespace is killed. */
const POWEROFF_MS = 20_000

/**
 * Why the systemd tests cannot run here, or undefined if they can: booting needs root (namespaces, the
 * tmpfs mount), systemd itself, and util-linux's unshare and nsenter.
 */
export const systemdUnavailable = (): string | undefined => {
  if (process.getuid?.() !== 0) return 'needs root, to boot systemd in a pid namespace'
  if (!fs.existsSync(SYSTEMD)) return `needs systemd (${SYSTEMD} is missing)`
  const dirs = (process.env.PATH ?? '').split(path.delimiter).filter((d) => d !== '')
  for (const tool of ['unshare', 'nsenter']) {
    if (!dirs.some((d) => fs.existsSync(path.join(d, tool)))) return `needs ${tool} (util-linux), which is not on PATH`
  }
  return undefined
}

export interface RunResult {
  /** The command's exit code; 124 if `timeout` ended it, null if it died of a signal out here. */
  readonly code: number | null
  readonly stdout: string
  readonly stderr: string
}

export interface Systemd {
  /** systemd's pid as seen out here (it is 1 inside). */
  readonly pid: number
  /** Runs `bash -c cmd` inside the namespace (its pids, its /run); settles when it has exited. */
  readonly run: (cmd: string, timeoutMs?: number) => Promise<RunResult>
  /** Like run, but rejects unless the command exits with 0. */
  readonly check: (cmd: string, timeoutMs?: number) => Promise<string>
  /** Powers systemd off and makes sure the namespace and everything in it is gone. Idempotent. */
  readonly poweroff: () => Promise<void>
}

/** The target systemd boots into: journald and nothing else of the machine's own services. */
const TARGET = 'uninterruptible-test.target'

/**
 * What the namespace's first process does before it becomes systemd. Only /run is private; the rest of
 * the filesystem, the kernel and the network are the machine's, so the boot must not act on them as a
 * real boot would. Hence a minimal target instead of the machine's multi-user.target (which starts its
 * databases, getty, timers that run apt or backups), every unit sysinit.target pulls in masked (a unit
 * started with default dependencies requires sysinit.target: sysctl and module loading would reach the
 * shared kernel, tmpfiles, sysusers, utmp and the random seed the shared /etc and /var), tmpfiles
 * overrides so that nothing wipes the shared /tmp should tmpfiles run after all (Debian's tmp.conf has
 * `D /tmp`), and a volatile journal, kept in the private /run rather than the shared /var/log/journal.
 */
const INIT = [
  'set -e',
  'mount -t tmpfs tmpfs /run',
  'mkdir -p /run/systemd/system /run/tmpfiles.d /run/systemd/journald.conf.d',
  "printf 'd /tmp 1777 root root -\\n' > /run/tmpfiles.d/tmp.conf",
  ': > /run/tmpfiles.d/x11.conf',
  ': > /run/tmpfiles.d/systemd-tmp.conf',
  "printf '[Journal]\\nStorage=volatile\\n' > /run/systemd/journald.conf.d/volatile.conf",
  'for u in /lib/systemd/system/sysinit.target.wants/* /usr/lib/systemd/system/sysinit.target.wants/* /etc/systemd/system/sysinit.target.wants/*; do ' +
    '[ -e "$u" ] || [ -L "$u" ] || continue; n=${u##*/}; [ "$n" = systemd-journald.service ] || ln -sf /dev/null /run/systemd/system/$n; done',
  `printf '[Unit]\\nDescription=uninterruptible tests\\nWants=systemd-journald.service\\n' > /run/systemd/system/${TARGET}`,
  `exec ${SYSTEMD} --system --unit=${TARGET}`,
].join('\n')

const delay = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

/** The last `max` characters of what a stream wrote. */
const tailOf = (stream: NodeJS.ReadableStream | null, max = 4000): (() => string) => {
  let text = ''
  stream?.setEncoding('utf8')
  stream?.on('data', (chunk: string) => {
    text = (text + chunk).slice(-max)
  })
  return () => text
}

const exitOf = (child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> =>
  child.exitCode !== null || child.signalCode !== null
    ? Promise.resolve({ code: child.exitCode, signal: child.signalCode })
    : new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })))

/** The only child of `pid` (unshare's forked child, which becomes systemd), once it exists. */
const onlyChild = async (pid: number, exited: () => boolean, log: () => string): Promise<number> => {
  const deadline = Date.now() + BOOT_MS
  for (;;) {
    let children: number[] = []
    try {
      children = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter((s) => s !== '').map(Number)
    } catch {
      // unshare is gone: reported below
    }
    const [child] = children
    if (child !== undefined) return child
    if (exited()) throw new Error(`unshare exited before systemd started: ${log()}`)
    if (Date.now() > deadline) throw new Error(`no systemd under unshare after ${BOOT_MS} ms: ${log()}`)
    await delay(20)
  }
}

/** Runs a command with nsenter in systemd's pid and mount namespaces. */
const runIn = (pid: number, cmd: string, timeoutMs: number): Promise<RunResult> =>
  new Promise((resolve, reject) => {
    // `timeout` runs inside, so it ends the command itself, not just nsenter
    const child = spawn('nsenter', ['-t', String(pid), '-p', '-m', 'timeout', '-k', '5', `${Math.ceil(timeoutMs / 1000)}s`, 'bash', '-c', cmd], {
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d))
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })

/**
 * Boots systemd and waits until it has finished booting (`running`, or `degraded` if some unit of the
 * machine failed, which is common in a namespace). The caller must `poweroff()` it, in a `finally` or an
 * `after` hook; should the test process exit first, it kills the namespace on its way out.
 */
export const bootSystemd = async (): Promise<Systemd> => {
  // detached: a session of its own, away from the test's terminal and process group; --kill-child:
  // should unshare die, the kernel kills systemd and with it the whole namespace
  const unshare = spawn('unshare', ['--pid', '--fork', '--kill-child', '--mount', '--mount-proc', 'bash', '-c', INIT], {
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  const out = tailOf(unshare.stdout)
  const err = tailOf(unshare.stderr)
  const log = (): string => `${out()}${err()}`.trim()
  const exited = exitOf(unshare)
  // an object, not a let: the compiler would take a local flag set in a callback for always false
  const unshareState = { gone: false }
  void exited.then(() => (unshareState.gone = true))
  const gone = (): boolean => unshareState.gone
  const killOnExit = (): void => {
    if (!gone()) unshare.kill('SIGKILL')
  }
  process.once('exit', killOnExit)

  let pid = 0
  const poweroff = async (): Promise<void> => {
    process.removeListener('exit', killOnExit)
    if (!gone() && pid !== 0) {
      await runIn(pid, 'systemctl poweroff --no-block', 30_000).catch(() => undefined)
      await Promise.race([exited, delay(POWEROFF_MS)])
    }
    // unshare is our child and not yet reaped, so its pid is still its own: killing it takes the
    // namespace down (--kill-child), systemd and everything under it
    if (!gone()) unshare.kill('SIGKILL')
    await exited
    if (pid !== 0) {
      const deadline = Date.now() + POWEROFF_MS
      while (fs.existsSync(`/proc/${pid}`)) {
        if (Date.now() > deadline) throw new Error(`systemd (pid ${pid}) is still there after its namespace was killed`)
        await delay(20)
      }
    }
  }

  try {
    pid = await onlyChild(unshare.pid ?? 0, gone, log)
    // polled: nothing tells an outsider that systemd's socket is up; --wait then waits for the boot
    const deadline = Date.now() + BOOT_MS
    for (;;) {
      const state = await runIn(pid, 'systemctl is-system-running --wait', BOOT_MS)
      const said = state.stdout.trim()
      if (said === 'running' || said === 'degraded') break
      if (gone()) throw new Error(`systemd exited while booting: ${log()}`)
      if (Date.now() > deadline) throw new Error(`systemd did not finish booting in ${BOOT_MS} ms (it says ${JSON.stringify(said)} ${state.stderr.trim()}): ${log()}`)
      await delay(100)
    }
  } catch (e) {
    await poweroff()
    throw e
  }

  const run = (cmd: string, timeoutMs = RUN_MS): Promise<RunResult> => {
    if (gone()) return Promise.reject(new Error(`systemd has exited; cannot run ${cmd}`))
    return runIn(pid, cmd, timeoutMs)
  }
  const check = async (cmd: string, timeoutMs = RUN_MS): Promise<string> => {
    const r = await run(cmd, timeoutMs)
    if (r.code !== 0) throw new Error(`\`${cmd}\` exited with ${r.code}: ${r.stderr.trim()} ${r.stdout.trim()}`)
    return r.stdout
  }
  return { pid, run, check, poweroff }
}

/**
 * One booted systemd for the describe block that calls this: booted before its tests, powered off after
 * them. The function returned gives it (and says so if the boot failed).
 */
export const bootedForSuite = (): (() => Systemd) => {
  let sd: Systemd | undefined
  before(async () => {
    sd = await bootSystemd()
  }, { timeout: 120_000 })
  after(async () => {
    await sd?.poweroff()
  })
  return () => {
    if (sd === undefined) throw new Error('systemd did not boot')
    return sd
  }
}
