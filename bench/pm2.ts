/**
 * pm2, driven through its own CLI for the bench: a daemon of our own in a temp PM2_HOME (nothing touches
 * ~/.pm2), its version check and banner off (they would call out to the network), an app in cluster
 * mode, `pm2 reload` awaited, and a cleanup that leaves no daemon or app behind: `pm2 kill`, then SIGKILL
 * for any process still carrying our PM2_HOME, then the folder goes.
 */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { HANG_MS, isGone, LogFile, pidsWithEnv, tempDir, testEnv, tryKill, waitGone } from '../test/support/harness'

const PM2_BIN = path.join(path.dirname(require.resolve('pm2/package.json')), 'bin/pm2')

export class Pm2 {
  readonly dir = tempDir()
  readonly home = path.join(this.dir, 'pm2')
  /** The app's stdout, every instance merged. */
  readonly out = path.join(this.dir, 'out.log')
  private readonly env: NodeJS.ProcessEnv

  /** `appEnv`: variables for the apps (pm2 gives an app the environment of the command that starts it). */
  constructor(appEnv: Readonly<Record<string, string>> = {}) {
    const env: NodeJS.ProcessEnv = {}
    // no PM2_* or Keymetrics variables of the caller's (a key would link the daemon to pm2.io)
    for (const [k, v] of Object.entries(testEnv())) if (!/^(PM2_|KEYMETRICS_)/.test(k) && k !== 'pm_id') env[k] = v
    this.env = { ...env, ...appEnv, PM2_HOME: this.home, PM2_DISCRETE_MODE: 'true', PM2_DISABLE_VERSION_CHECK: 'true' }
  }

  /** Runs `pm2 <args>`; settles when the command has exited, rejecting on a non-zero exit or a hang. */
  cli(args: readonly string[]): Promise<string> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [PM2_BIN, ...args], { env: this.env, stdio: ['ignore', 'pipe', 'pipe'] })
      let output = ''
      child.stdout.on('data', (d: Buffer) => (output += d.toString()))
      child.stderr.on('data', (d: Buffer) => (output += d.toString()))
      const timer = setTimeout(() => child.kill('SIGKILL'), HANG_MS)
      child.once('exit', (code, signal) => {
        clearTimeout(timer)
        if (code === 0) resolve(output)
        else reject(new Error(`pm2 ${args.join(' ')} exited with ${String(code ?? signal)}:\n${output.slice(-2000)}`))
      })
    })
  }

  /** `pm2 start <script> -i <instances> -- <args>`; settles once every instance has logged 'listening'. */
  async startCluster(name: string, script: string, instances: number, args: readonly string[]): Promise<void> {
    await this.cli(['start', script, '--name', name, '-i', String(instances), '--merge-logs', '-o', this.out, '-e', path.join(this.dir, 'err.log'), '--', ...args])
    const log = new LogFile(this.out)
    const seen = new Set<number>()
    while (seen.size < instances) {
      const l = await log.waitFor((x) => x.event === 'listening' && !seen.has(x.pid), `instance ${seen.size + 1} of ${name} to listen`)
      seen.add(l.pid)
    }
  }

  /**
   * `pm2 start <script> -i <instances>` of an app that logs text, not JSON; settles once `instances` lines
   * of its output match `ready`.
   */
  async startApp(name: string, script: string, instances: number, ready: RegExp): Promise<void> {
    await this.cli(['start', script, '--name', name, '-i', String(instances), '--merge-logs', '-o', this.out, '-e', path.join(this.dir, 'err.log')])
    const deadline = Date.now() + HANG_MS
    const seen = (): number => (fs.existsSync(this.out) ? fs.readFileSync(this.out, 'utf8').split('\n').filter((l) => ready.test(l)).length : 0)
    // polled: pm2 writes the app's output to a file, which gives no event
    while (seen() < instances) {
      if (Date.now() > deadline) throw new Error(`hung waiting for ${instances} instances of ${name} to say ${String(ready)} in ${this.out}`)
      await new Promise((r) => setTimeout(r, 20))
    }
  }

  /** Stops the daemon and its apps, kills whatever is left of them, removes the temp folder. */
  async cleanup(): Promise<void> {
    try {
      await this.cli(['kill'])
    } catch {
      // the daemon may never have started, or may hang: what is left is killed below
    }
    const left = pidsWithEnv('PM2_HOME', this.home)
    for (const pid of left) tryKill(pid)
    for (const pid of left) await waitGone(pid)
    fs.rmSync(this.dir, { recursive: true, force: true })
    const still = this.processes()
    if (still.length > 0) throw new Error(`pm2 processes still running after cleanup: ${still.join(', ')}`)
  }

  /** Live processes of this pm2: its daemon and apps. */
  processes(): number[] {
    return pidsWithEnv('PM2_HOME', this.home).filter((pid) => !isGone(pid))
  }
}
