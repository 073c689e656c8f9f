/**
 * Keep-alive HTTP load generator that cannot lose a request unseen: each loop owns one kept-alive
 * connection (an `http.Agent` with one socket) and sends one request after another, each awaited, so
 * every request sent ends as a checked reply or a counted failure. It follows `Connection: close` as
 * browsers and Node's agent do (autocannon does not: it sends its next request on a connection the
 * server is closing, and silently reconnects when a request goes unanswered, so it cannot show a loss).
 * Some loops pause between requests so that connections are idle when a drain starts.
 */
import * as http from 'node:http'

export const HTTP_FAILURE_KINDS = ['refused', 'reset', 'timeout', 'status', 'body', 'other'] as const
export type HttpFailureKind = (typeof HTTP_FAILURE_KINDS)[number]

export interface HttpStats {
  sent: number
  ok: number
  /** Replies that carried `Connection: close`: the drain told the client to go elsewhere. */
  closing: number
  failed: number
  byKind: Record<HttpFailureKind, number>
  /** The first failures in full, for diagnosis. */
  examples: string[]
}

export interface HttpLoadOptions {
  readonly port: number
  /** Loops sending their next request as soon as a reply arrives. */
  readonly fullSpeed: number
  /** Loops pausing a random 0 to `maxPauseMs` between requests. */
  readonly paused: number
  readonly maxPauseMs: number
  /** A reply body must match this. */
  readonly body: RegExp
  readonly timeoutMs?: number
}

export interface HttpLoad {
  readonly stats: HttpStats
  /** Settles once `n` more requests than now have been answered, or once any has failed or the load stopped. */
  readonly answered: (n: number) => Promise<void>
  /** Stops the loops after their current request and returns the final stats. */
  readonly stop: () => Promise<HttpStats>
}

const classify = (err: NodeJS.ErrnoException): HttpFailureKind => {
  if (err.code === 'ECONNREFUSED') return 'refused'
  if (err.code === 'ECONNRESET' || err.code === 'EPIPE') return 'reset'
  return 'other'
}

type Result = { readonly ok: true; readonly closing: boolean } | { readonly ok: false; readonly kind: HttpFailureKind; readonly detail: string }

const request = (o: HttpLoadOptions, agent: http.Agent): Promise<Result> =>
  new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port: o.port, path: '/', agent }, (res) => {
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (d: string) => (body += d))
      res.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, kind: classify(err), detail: `reading the body: ${err.code ?? ''} ${err.message}` }))
      res.on('end', () => {
        if (res.statusCode !== 200) resolve({ ok: false, kind: 'status', detail: `status ${String(res.statusCode)}: ${body}` })
        else if (!o.body.test(body)) resolve({ ok: false, kind: 'body', detail: `unexpected body ${JSON.stringify(body)}` })
        else resolve({ ok: true, closing: res.headers.connection === 'close' })
      })
    })
    req.setTimeout(o.timeoutMs ?? 60_000, () => {
      resolve({ ok: false, kind: 'timeout', detail: `no reply within ${o.timeoutMs ?? 60_000} ms` })
      req.destroy()
    })
    req.on('error', (err: NodeJS.ErrnoException) => resolve({ ok: false, kind: classify(err), detail: `${err.code ?? ''} ${err.message}` }))
  })

export const startHttpLoad = (o: HttpLoadOptions): HttpLoad => {
  const stats: HttpStats = {
    sent: 0,
    ok: 0,
    closing: 0,
    failed: 0,
    byKind: Object.fromEntries(HTTP_FAILURE_KINDS.map((k) => [k, 0])) as Record<HttpFailureKind, number>,
    examples: [],
  }
  let running = true
  let waiters: { readonly at: number; readonly done: () => void }[] = []
  const settle = (): void => {
    const due = waiters.filter((w) => !running || stats.failed > 0 || stats.ok >= w.at)
    if (due.length === 0) return
    waiters = waiters.filter((w) => !due.includes(w))
    for (const w of due) w.done()
  }
  const loop = async (pauseMs: number): Promise<void> => {
    const agent = new http.Agent({ keepAlive: true, maxSockets: 1 })
    try {
      while (running) {
        stats.sent += 1
        const r = await request(o, agent)
        if (r.ok) {
          stats.ok += 1
          if (r.closing) stats.closing += 1
          settle()
        } else {
          stats.failed += 1
          stats.byKind[r.kind] += 1
          if (stats.examples.length < 20) stats.examples.push(`${r.kind}: ${r.detail}`)
          settle()
        }
        // a pause also keeps a target failing fast from starving the event loop
        if (pauseMs > 0 || !r.ok) await new Promise((done) => setTimeout(done, Math.random() * pauseMs + (r.ok ? 0 : 1)))
      }
    } finally {
      agent.destroy()
    }
  }
  const loops = [...Array.from({ length: o.fullSpeed }, () => loop(0)), ...Array.from({ length: o.paused }, () => loop(o.maxPauseMs))]
  return {
    stats,
    answered: (n) =>
      new Promise((done) => {
        waiters.push({ at: stats.ok + n, done })
        settle()
      }),
    stop: async () => {
      running = false
      settle()
      await Promise.all(loops)
      return stats
    },
  }
}
