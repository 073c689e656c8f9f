/**
 * HTTP throughput: `serveHttp` (the HTTP example) against a raw `http.Server` with the same listener,
 * under the same wrk load, in alternating rounds: keep-alive, and a new connection per request
 * (`Connection: close`). Each round records the server's CPU time (all its threads, from /proc) and the
 * client's, so the report shows requests/s, server CPU per request, and that the server, not the client,
 * was saturated. Without wrk (a machine that lacks it), autocannon runs the rounds instead, for the
 * smoke pass only: it is slower than the servers, so its ratios say little.
 * Placement: on a machine with 2 or more CPUs and `taskset`, both servers run on the last CPU and wrk
 * (one thread) on the first, so every round has the same placement. Left to the scheduler, a server
 * sometimes shared its CPU with one of wrk's threads and sometimes not, which moved a round's rate by up
 * to 10 % either way (BENCHMARKS.md, section 5).
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { performance } from 'node:perf_hooks'
import autocannon from 'autocannon'
import { DIST, portOf, ServerProcess, tempDir, writeJson } from '../test/support/harness'
import { cpuNs } from './proc'
import { alternate } from './alternate'
import { wrkMissing, wrkRound } from './wrk'

export interface HttpRound {
  readonly requestsPerSecond: number
  /** Socket errors, timeouts, non-2xx responses. */
  readonly errors: number
  /** Server CPU (all its processes) per request, µs. */
  readonly serverCpuUsPerRequest: number
  /** Server CPU per wall second: 1 is one core, busy all the time. */
  readonly serverCores: number
  /** Client CPU per wall second (NaN with autocannon, which runs in this process). */
  readonly clientCores: number
}

export interface HttpOptions {
  readonly rounds: number
  readonly seconds: number
  readonly connections: number
}

export type Connections = 'keep-alive' | 'close'

export const loadGenerator = (): 'wrk' | 'autocannon' => (wrkMissing() === undefined ? 'wrk' : 'autocannon')

const autocannonRound = (port: number, seconds: number, connections: number, close: boolean): Promise<{ requests: number; errors: number; clientCpuSeconds: number }> =>
  new Promise((resolve, reject) => {
    autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration: seconds, ...(close ? { headers: { connection: 'close' } } : {}) }, (err, r) => {
      if (err !== null) reject(err instanceof Error ? err : new Error(String(err)))
      else resolve({ requests: r.requests.total, errors: r.errors + r.timeouts + r.non2xx, clientCpuSeconds: NaN })
    })
  })

/** Where the client and the servers run: a CPU each, or wherever the scheduler puts them. */
export interface Placement {
  readonly client: number
  readonly server: number
}

/** A CPU for wrk and another for the servers, when there are two and `taskset` can pin them. */
export const placement = (): Placement | undefined => {
  const cpus = os.availableParallelism()
  if (cpus < 2 || spawnSync('taskset', ['--version']).error !== undefined) return undefined
  return { client: 0, server: cpus - 1 }
}

/** Pins every thread of the process `pid` to `cpu` (threads it starts later inherit it). */
const pin = (pid: number, cpu: number): void => {
  const r = spawnSync('taskset', ['-a', '-p', '-c', String(cpu), String(pid)], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`taskset could not pin process ${pid} to CPU ${cpu}: ${r.stderr || String(r.error)}`)
}

/**
 * One round of `seconds` against `port`, the CPU of `pids` (the server's processes) measured over it;
 * wrk on `clientCpu` with one thread when given, otherwise 2 threads anywhere.
 */
export const httpRound = async (pids: readonly number[], port: number, seconds: number, connections: number, close = false, clientCpu?: number): Promise<HttpRound> => {
  const cpu = (): number => pids.reduce((sum, pid) => sum + cpuNs(pid), 0)
  const c0 = cpu()
  const t0 = performance.now()
  const r =
    loadGenerator() === 'wrk'
      ? await wrkRound({ url: `http://127.0.0.1:${port}/`, seconds, connections, threads: clientCpu === undefined ? 2 : 1, close, ...(clientCpu === undefined ? {} : { cpu: clientCpu }) })
      : await autocannonRound(port, seconds, connections, close)
  const wall = (performance.now() - t0) / 1000
  const serverSeconds = (cpu() - c0) / 1e9
  return {
    requestsPerSecond: r.requests / wall,
    errors: r.errors,
    serverCpuUsPerRequest: (serverSeconds * 1e6) / r.requests,
    serverCores: serverSeconds / wall,
    clientCores: r.clientCpuSeconds / wall,
  }
}

export interface HttpThroughput {
  readonly generator: 'wrk' | 'autocannon'
  /** The CPUs wrk and the servers ran on, if pinned. */
  readonly placement: Placement | undefined
  readonly keepAlive: { readonly library: readonly HttpRound[]; readonly raw: readonly HttpRound[] }
  readonly close: { readonly library: readonly HttpRound[]; readonly raw: readonly HttpRound[] }
}

export const httpThroughput = async (o: HttpOptions): Promise<HttpThroughput> => {
  const dir = tempDir()
  const lib = new ServerProcess([path.join(DIST, 'examples/http.js'), writeJson(path.join(dir, 'http.json'), { bind: 'tcp://127.0.0.1:0' })])
  const raw = new ServerProcess([path.join(DIST, 'bench/servers/rawHttp.js'), '0'])
  try {
    const libPort = portOf(await lib.waitFor((l) => l.event === 'listening', 'the library listening'))
    const rawPort = portOf(await raw.event(raw.pid, 'listening'))
    const generator = loadGenerator()
    const where = generator === 'wrk' ? placement() : undefined
    if (where !== undefined) for (const pid of [lib.pid, raw.pid]) pin(pid, where.server)
    const rounds = async (close: boolean): Promise<{ library: HttpRound[]; raw: HttpRound[] }> => {
      await httpRound([lib.pid], libPort, 1, o.connections, close, where?.client) // warm both up
      await httpRound([raw.pid], rawPort, 1, o.connections, close, where?.client)
      const r = await alternate(
        o.rounds,
        () => httpRound([lib.pid], libPort, o.seconds, o.connections, close, where?.client),
        () => httpRound([raw.pid], rawPort, o.seconds, o.connections, close, where?.client),
      )
      return { library: r.a, raw: r.b }
    }
    const keepAlive = await rounds(false)
    const close = await rounds(true)
    return { generator, placement: where, keepAlive, close }
  } finally {
    lib.killAll()
    raw.killAll()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
