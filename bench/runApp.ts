/**
 * An unchanged app restarted under keep-alive HTTP load: the Express fixture (test/fixtures/apps/express,
 * as Express's hello-world writes it) under `uninterruptible run --workers 2`, restarted with
 * `uninterruptible restart`, against the same file under `pm2 start -i 2`, restarted with `pm2 reload`.
 * Each restart is the operator's command, timed from its spawn to its exit, and they follow one another.
 * Every request of the load is checked (status 200 and the app's body) or counted as failed by kind.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { performance } from 'node:perf_hooks'
import { freePort, ROOT, runCli, ServerProcess, tempDir, testEnv, waitGone } from '../test/support/harness'
import { HTTP_FAILURE_KINDS, type HttpStats, startHttpLoad } from '../test/support/httpLoad'
import { Pm2 } from './pm2'

const EXPRESS = path.join(ROOT, 'test/fixtures/apps/express/app.js')
const INSTANCES = 2
const BODY = /^hello from \d+$/
/** A request with no reply this long counts as a 'timeout' failure. */
export const APP_HANG_MS = 10_000

export interface AppReloadRun {
  readonly server: string
  readonly restarts: number
  readonly stats: HttpStats
  /** Each restart command, spawn to exit, ms. */
  readonly restartMs: readonly number[]
  /** From the load's start to the last restart done. */
  readonly seconds: number
}

/** The same load for both: 16 loops at full speed and 4 that pause up to 50 ms, each on one kept-alive connection. */
const load = (port: number): ReturnType<typeof startHttpLoad> => startHttpLoad({ port, fullSpeed: 16, paused: 4, maxPauseMs: 50, body: BODY, timeoutMs: APP_HANG_MS })

/** Times each of `restarts` calls of `restart`, one after another, under the load; then stops the load. */
const restartsUnderLoad = async (port: number, restarts: number, restart: () => Promise<void>): Promise<Omit<AppReloadRun, 'server'>> => {
  const running = load(port)
  try {
    const started = performance.now()
    await running.answered(100)
    const restartMs: number[] = []
    for (let i = 0; i < restarts; i++) {
      const t0 = performance.now()
      await restart()
      restartMs.push(performance.now() - t0)
    }
    const seconds = (performance.now() - started) / 1000
    return { restarts, stats: await running.stop(), restartMs, seconds }
  } finally {
    await running.stop()
  }
}

/** `uninterruptible run --workers 2 -- node app.js` (the config's defaults otherwise), `restarts` × `uninterruptible restart`. */
export const runRestarts = async (restarts: number): Promise<AppReloadRun> => {
  const dir = tempDir()
  const port = await freePort()
  const control = path.join(dir, 'control.sock')
  const server = new ServerProcess([path.join(ROOT, 'dist/lib/cli.js'), 'run', '--bind', `tcp://127.0.0.1:${port}`, '--workers', String(INSTANCES), '--control', control, '--', process.execPath, EXPRESS], {
    env: testEnv({ PORT: String(port) }),
    cwd: dir,
  })
  try {
    await server.waitFor((l) => l.event === 'listening' && l.supervisor === true, 'the app to serve under run')
    const r = await restartsUnderLoad(port, restarts, async () => {
      const out = await runCli(['restart', '--control', control])
      if (out.code !== 0) throw new Error(`uninterruptible restart exited ${String(out.code)}: ${out.stdout}${out.stderr}`)
    })
    const stop = await runCli(['stop', '--control', control])
    if (stop.code !== 0) throw new Error(`uninterruptible stop exited ${String(stop.code)}: ${stop.stderr}`)
    await server.closed
    for (const pid of server.pids()) await waitGone(pid)
    return { server: `uninterruptible run, ${INSTANCES} workers`, ...r }
  } finally {
    server.killAll()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** `pm2 start app.js -i 2` (cluster mode, pm2's defaults otherwise), `restarts` × `pm2 reload`. */
export const pm2AppRestarts = async (restarts: number): Promise<AppReloadRun> => {
  const port = await freePort()
  const pm2 = new Pm2({ PORT: String(port) })
  const name = 'uni-bench-express'
  try {
    await pm2.startApp(name, EXPRESS, INSTANCES, /Example app listening on port/)
    const r = await restartsUnderLoad(port, restarts, async () => {
      await pm2.cli(['reload', name])
    })
    return { server: `pm2 reload, cluster mode, ${INSTANCES} instances`, ...r }
  } finally {
    await pm2.cleanup()
  }
}

/** "reset 64, timeout 3", or "none". */
export const httpFailureSummary = (byKind: HttpStats['byKind']): string =>
  HTTP_FAILURE_KINDS.filter((k) => byKind[k] > 0)
    .map((k) => `${k} ${byKind[k]}`)
    .join(', ') || 'none'

/** Replies that came but were not the app's: a status other than 200, or another body. */
export const wrongResponses = (s: HttpStats): number => s.byKind.status + s.byKind.body
