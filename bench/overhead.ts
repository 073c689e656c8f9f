/**
 * Measure 2: overhead. The echo example through the library and a raw `net` server with the same
 * handler, under the same client, in alternating rounds of the same run: server CPU (user + system, all
 * threads) per exchange, and exchanges per second.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { performance } from 'node:perf_hooks'
import { startLoad, type Target } from '../test/support/echoLoad'
import { DIST, portOf, ServerProcess, tempDir, writeJson } from '../test/support/harness'
import { cpuNs, sleep } from './proc'

export interface Round {
  readonly exchanges: number
  readonly failed: number
  readonly cpuUsPerExchange: number
  readonly perSecond: number
}

export interface Overhead {
  readonly library: readonly Round[]
  readonly raw: readonly Round[]
}

export interface OverheadOptions {
  readonly rounds: number
  readonly seconds: number
  readonly concurrency: number
}

/** One round against a server whose processes are `pids`: a warm-up, then `seconds` of load; CPU summed over the pids. */
export const round = async (pids: readonly number[], target: Target, o: OverheadOptions): Promise<Round> => {
  const cpu = (): number => pids.reduce((sum, pid) => sum + cpuNs(pid), 0)
  const warm = startLoad(target, o.concurrency)
  await sleep(500)
  await warm.stop()
  const load = startLoad(target, o.concurrency)
  const cpu0 = cpu()
  const t0 = performance.now()
  await sleep(o.seconds * 1000)
  const stats = await load.stop()
  const elapsed = (performance.now() - t0) / 1000
  const used = cpu() - cpu0
  return { exchanges: stats.exchanges, failed: stats.failed, cpuUsPerExchange: used / 1000 / stats.exchanges, perSecond: stats.exchanges / elapsed }
}

export const overhead = async (o: OverheadOptions): Promise<Overhead> => {
  const dir = tempDir()
  const lib = ServerProcess.echo(writeJson(path.join(dir, 'echo.json'), { bind: 'tcp://127.0.0.1:0' }))
  const raw = new ServerProcess([path.join(DIST, 'bench/servers/rawEcho.js'), 'tcp', '0'])
  try {
    const libTarget = { host: '127.0.0.1', port: portOf(await lib.event(lib.pid, 'listening')) }
    const rawTarget = { host: '127.0.0.1', port: portOf(await raw.event(raw.pid, 'listening')) }
    const library: Round[] = []
    const rawRounds: Round[] = []
    for (let i = 0; i < o.rounds; i++) {
      // alternate which goes first, so drift over the run affects both alike
      if (i % 2 === 0) {
        rawRounds.push(await round([raw.pid], rawTarget, o))
        library.push(await round([lib.pid], libTarget, o))
      } else {
        library.push(await round([lib.pid], libTarget, o))
        rawRounds.push(await round([raw.pid], rawTarget, o))
      }
    }
    return { library, raw: rawRounds }
  } finally {
    lib.killAll()
    raw.killAll()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
