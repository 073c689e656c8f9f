/**
 * The handoff under load against a bare Node start under the same load. An idle echo server and one
 * serving 16 connect / echo / close loops; interleaved samples of (a) SIGUSR1 to the pid the pidfile
 * names, until the old process logs `successor-ready`, as the caller sees it (signal sent to line read),
 * and (b) a bare `node -e` that listens on a port and says so on stdout (spawn to that byte), started
 * while the same load runs. Where the handoff's time goes comes from the log: the old process's
 * `restart-requested` (the signal's delivery to a busy event loop) and `successor-spawned` (spawn), and
 * the new process's `startup-timeline` line (debug): Node's boot before the library, the library's load,
 * the config and the rest of its start-up, to its ready line.
 */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { performance } from 'node:perf_hooks'
import { startLoad } from '../test/support/echoLoad'
import { portOf, readPid, ServerProcess, tempDir, waitGone, writeJson } from '../test/support/harness'

export interface HandoffLoadSample {
  /** SIGUSR1 sent to `successor-ready` read, ms. */
  readonly handoffMs: number
  /** Signal sent to the old process's `restart-requested` (log time, ms resolution). */
  readonly deliveryMs: number
  /** `restart-requested` to `successor-spawned` (log times). */
  readonly spawnMs: number
  /** The new process's own timeline (ms from its start): the library loaded, the config read, ready. */
  readonly libraryAtMs: number
  readonly preparedAtMs: number
  readonly readyAtMs: number
  /** A bare `node -e` that listens, spawn to its byte, under the same load. */
  readonly bareMs: number
}

export interface HandoffLoad {
  readonly loaded: readonly HandoffLoadSample[]
  readonly exchanges: number
  readonly failed: number
}

const BARE = "require('net').createServer().listen(0, '127.0.0.1', () => process.stdout.write('x'))"

/** Spawn to the first stdout byte of a bare listening node, then it is killed. */
const bareStart = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const t0 = performance.now()
    const child = spawn(process.execPath, ['-e', BARE], { stdio: ['ignore', 'pipe', 'inherit'] })
    child.stdout.once('data', () => {
      resolve(performance.now() - t0)
      child.kill('SIGKILL')
    })
    child.once('error', reject)
  })

const num = (u: unknown): number => (typeof u === 'number' ? u : NaN)

export const handoffUnderLoad = async (samples: number, concurrency = 16): Promise<HandoffLoad> => {
  const dir = tempDir()
  const pidfile = path.join(dir, 'echo.pid')
  const server = ServerProcess.echo(writeJson(path.join(dir, 'echo.json'), { bind: 'tcp://127.0.0.1:0', pidfilePath: pidfile, probationMs: 0, logLevel: 'debug' }))
  let load: ReturnType<typeof startLoad> | undefined
  try {
    const target = { host: '127.0.0.1', port: portOf(await server.event(server.pid, 'listening')) }
    load = startLoad(target, concurrency)
    const loaded: HandoffLoadSample[] = []
    for (let i = 0; i < samples; i++) {
      const bareMs = await bareStart()
      const old = readPid(pidfile)
      const sentAt = Date.now()
      const t0 = performance.now()
      process.kill(old, 'SIGUSR1')
      const ready = await server.event(old, 'successor-ready')
      const handoffMs = performance.now() - t0
      const requested = await server.event(old, 'restart-requested')
      const spawned = await server.event(old, 'successor-spawned')
      const successor = Number(ready.successorPid)
      const timeline = await server.event(successor, 'startup-timeline')
      loaded.push({
        handoffMs,
        deliveryMs: requested.time - sentAt,
        spawnMs: spawned.time - requested.time,
        libraryAtMs: num(timeline.libraryAtMs),
        preparedAtMs: num(timeline.preparedAtMs),
        readyAtMs: num(timeline.readyAtMs),
        bareMs,
      })
      await waitGone(old)
    }
    const stats = await load.stop()
    const last = readPid(pidfile)
    await server.stop(last)
    return { loaded, exchanges: stats.exchanges, failed: stats.failed }
  } finally {
    await load?.stop()
    server.killAll()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

// started as its own program (node dist/bench/handoffLoad.js N): the samples as JSON, for profiling runs
if (require.main === module) {
  void handoffUnderLoad(Number(process.argv[2] ?? 10)).then((r) => process.stdout.write(`${JSON.stringify(r)}\n`))
}

