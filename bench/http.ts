/**
 * HTTP throughput: requests per second through `serveHttp` against a raw `http.Server` with the same
 * listener, both under the same autocannon load (keep-alive connections), in alternating rounds.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import autocannon from 'autocannon'
import { DIST, portOf, ServerProcess, tempDir, writeJson } from '../test/support/harness'

export interface HttpRound {
  readonly requestsPerSecond: number
  readonly errors: number
  readonly non2xx: number
  /** 200 replies whose body was not the listener's. */
  readonly mismatches: number
}

export interface HttpThroughput {
  readonly library: readonly HttpRound[]
  readonly raw: readonly HttpRound[]
}

export interface HttpOptions {
  readonly rounds: number
  readonly seconds: number
  readonly connections: number
}

/** One autocannon round of `seconds` against the port, every body checked. */
export const httpRound = (port: number, seconds: number, connections: number): Promise<HttpRound> =>
  new Promise((resolve, reject) => {
    const body = /^hello from pid \d+\n$/
    autocannon({ url: `http://127.0.0.1:${port}/`, connections, duration: seconds, verifyBody: (b) => body.test(String(b)) }, (err, r) => {
      if (err !== null) reject(err instanceof Error ? err : new Error(String(err)))
      else resolve({ requestsPerSecond: r.requests.total / seconds, errors: r.errors + r.timeouts, non2xx: r.non2xx, mismatches: r.mismatches })
    })
  })

export const httpThroughput = async (o: HttpOptions): Promise<HttpThroughput> => {
  const dir = tempDir()
  const lib = new ServerProcess([path.join(DIST, 'examples/http.js'), writeJson(path.join(dir, 'http.json'), { bind: 'tcp://127.0.0.1:0' })])
  const raw = new ServerProcess([path.join(DIST, 'bench/servers/rawHttp.js'), '0'])
  try {
    const libPort = portOf(await lib.event(lib.pid, 'listening'))
    const rawPort = portOf(await raw.event(raw.pid, 'listening'))
    await httpRound(libPort, 1, o.connections) // warm both up
    await httpRound(rawPort, 1, o.connections)
    const library: HttpRound[] = []
    const rawRounds: HttpRound[] = []
    for (let i = 0; i < o.rounds; i++) {
      if (i % 2 === 0) {
        rawRounds.push(await httpRound(rawPort, o.seconds, o.connections))
        library.push(await httpRound(libPort, o.seconds, o.connections))
      } else {
        library.push(await httpRound(libPort, o.seconds, o.connections))
        rawRounds.push(await httpRound(rawPort, o.seconds, o.connections))
      }
    }
    return { library, raw: rawRounds }
  } finally {
    lib.killAll()
    raw.killAll()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
