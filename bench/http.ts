/**
 * HTTP throughput: `serveHttp` (the HTTP example) against a raw `http.Server` with the same listener,
 * under the same wrk load, in alternating rounds: keep-alive, and a new connection per request
 * (`Connection: close`). Each round records the server's CPU time (all its threads, from /proc) and the
 * client's, so the report shows requests/s, server CPU per request, and that the server, not the client,
 * was saturated. Without wrk (a machine that lacks it), autocannon runs the rounds instead, for the
 * smoke pass only: it is slower than the servers, so its ratios say little.
 */
import * as fs from 'node:fs'
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

/** One round of `seconds` against `port`, the CPU of `pids` (the server's processes) measured over it. */
export const httpRound = async (pids: readonly number[], port: number, seconds: number, connections: number, close = false): Promise<HttpRound> => {
  const cpu = (): number => pids.reduce((sum, pid) => sum + cpuNs(pid), 0)
  const c0 = cpu()
  const t0 = performance.now()
  const r =
    loadGenerator() === 'wrk'
      ? await wrkRound({ url: `http://127.0.0.1:${port}/`, seconds, connections, threads: 2, close })
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
    const rounds = async (close: boolean): Promise<{ library: HttpRound[]; raw: HttpRound[] }> => {
      await httpRound([lib.pid], libPort, 1, o.connections, close) // warm both up
      await httpRound([raw.pid], rawPort, 1, o.connections, close)
      const r = await alternate(
        o.rounds,
        () => httpRound([lib.pid], libPort, o.seconds, o.connections, close),
        () => httpRound([raw.pid], rawPort, o.seconds, o.connections, close),
      )
      return { library: r.a, raw: r.b }
    }
    const keepAlive = await rounds(false)
    const close = await rounds(true)
    return { generator: loadGenerator(), keepAlive, close }
  } finally {
    lib.killAll()
    raw.killAll()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
