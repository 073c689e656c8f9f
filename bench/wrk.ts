/**
 * HTTP load from wrk (Debian's `wrk` package), a C load generator that is not the bottleneck on this
 * machine: against a raw `http.Server` it takes about a third of the CPU the server does per request.
 * Each round reports what wrk counted (requests, socket errors, non-2xx responses) and wrk's own CPU time,
 * read with the shell's `times` (its child's user and system time), so a report can show that the client
 * was not what limited the server.
 */
import { execFile, spawnSync } from 'node:child_process'

export interface WrkRound {
  readonly requests: number
  readonly seconds: number
  readonly requestsPerSecond: number
  /** Socket errors (connect, read, write, timeout) and non-2xx/3xx responses. */
  readonly errors: number
  /** wrk's CPU time (user + system), seconds. */
  readonly clientCpuSeconds: number
}

export interface WrkOptions {
  readonly url: string
  readonly seconds: number
  readonly connections: number
  readonly threads: number
  /** Send `Connection: close`: a new connection per request. */
  readonly close: boolean
  /** Run wrk on this CPU only (taskset), or anywhere. */
  readonly cpu?: number
}

/** Why wrk cannot be used here, or undefined when it can. */
export const wrkMissing = (): string | undefined =>
  spawnSync('wrk', ['--version'], { encoding: 'utf8' }).error === undefined
    ? undefined
    : 'the wrk command is not installed: as root, `apt-get install wrk` (Debian); the HTTP rounds need a load generator faster than the server'

const number = (text: string, re: RegExp): number => Number(re.exec(text)?.[1] ?? NaN)

/** One wrk run against `url`. */
export const wrkRound = (o: WrkOptions): Promise<WrkRound> =>
  new Promise((resolve, reject) => {
    const header = o.close ? `-H 'Connection: close'` : ''
    const pin = o.cpu === undefined ? '' : `taskset -c ${o.cpu} `
    const script = `${pin}wrk -t${o.threads} -c${o.connections} -d${o.seconds}s --latency ${header} '${o.url}'; times`
    execFile('/bin/bash', ['-c', script], { maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new Error(`wrk failed: ${err.message}\n${stderr}`))
        return
      }
      const requests = number(stdout, /^\s*(\d+) requests in/m)
      const seconds = number(stdout, /requests in ([\d.]+)s/)
      const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(stdout)
      const socketErrors = socket === null ? 0 : [1, 2, 3, 4].reduce((sum, i) => sum + Number(socket[i]), 0)
      const non2xx = number(stdout, /Non-2xx or 3xx responses: (\d+)/)
      // `times` prints the shell's own times, then its children's: "0m1.234s 0m0.567s"
      const childTimes = stdout.trim().split('\n').at(-1) ?? ''
      const cpu = [...childTimes.matchAll(/(\d+)m([\d.]+)s/g)].reduce((sum, m) => sum + Number(m[1]) * 60 + Number(m[2]), 0)
      resolve({
        requests,
        seconds,
        requestsPerSecond: requests / seconds,
        errors: socketErrors + (Number.isFinite(non2xx) ? non2xx : 0),
        clientCpuSeconds: cpu,
      })
    })
  })
