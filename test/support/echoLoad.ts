/**
 * Echo load generator: concurrent loops of connect / write a unique line / read it back / close, plus
 * held clients that connect now and finish their exchange later (across a handoff). Every reply is
 * compared with what was sent, every failure is counted by kind, nothing is sampled.
 */
import { randomBytes } from 'node:crypto'
import * as net from 'node:net'
import * as tls from 'node:tls'

/** Where clients connect; with `tls`, each exchange is a TLS connection (a full handshake) with these options. */
export type Target = ({ readonly host: string; readonly port: number } | { readonly path: string }) & { readonly tls?: tls.ConnectionOptions }

export const FAILURE_KINDS = ['refused', 'reset', 'enoent', 'wrong-echo', 'no-reply', 'timeout', 'other'] as const
export type FailureKind = (typeof FAILURE_KINDS)[number]

export type Outcome = { readonly ok: true } | { readonly ok: false; readonly kind: FailureKind; readonly detail: string }

export interface Stats {
  exchanges: number
  failed: number
  byKind: Record<FailureKind, number>
  /** The first failures in full, for diagnosis. */
  examples: string[]
}

export const emptyStats = (): Stats => ({
  exchanges: 0,
  failed: 0,
  byKind: Object.fromEntries(FAILURE_KINDS.map((k) => [k, 0])) as Record<FailureKind, number>,
  examples: [],
})

export const record = (stats: Stats, o: Outcome): void => {
  if (o.ok) {
    stats.exchanges += 1
    return
  }
  stats.failed += 1
  stats.byKind[o.kind] += 1
  if (stats.examples.length < 20) stats.examples.push(`${o.kind}: ${o.detail}`)
}

const classify = (err: NodeJS.ErrnoException): FailureKind => {
  switch (err.code) {
    case 'ECONNREFUSED':
      return 'refused'
    case 'ECONNRESET':
    case 'EPIPE':
      return 'reset'
    case 'ENOENT':
      return 'enoent'
    default:
      return 'other'
  }
}

export const uniqueLine = (tag: string): string => `${tag}-${randomBytes(6).toString('hex')}\n`

/** One echo exchange in two steps: connect, then `send` a line; `result` settles when the socket closes. */
export class EchoClient {
  readonly connected: Promise<boolean>
  readonly result: Promise<Outcome>
  private readonly socket: net.Socket
  private line: string | undefined
  private received = ''
  private failure: Outcome | undefined

  constructor(target: Target, hangMs: number) {
    const { tls: secure, ...address } = target
    this.socket = secure !== undefined ? tls.connect({ ...address, ...secure }) : net.connect(address)
    this.socket.setEncoding('utf8')
    this.socket.setTimeout(hangMs, () => {
      this.failure ??= { ok: false, kind: 'timeout', detail: `no progress for ${hangMs} ms (sent ${JSON.stringify(this.line)}, got ${JSON.stringify(this.received)})` }
      this.socket.destroy()
    })
    this.socket.on('data', (d: string) => (this.received += d))
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      this.failure ??= { ok: false, kind: classify(err), detail: `${err.code ?? ''} ${err.message}` }
    })
    this.connected = new Promise((resolve) => {
      this.socket.once(secure !== undefined ? 'secureConnect' : 'connect', () => resolve(true))
      this.socket.once('close', () => resolve(false))
    })
    this.result = new Promise((resolve) => {
      this.socket.once('close', () => resolve(this.outcome()))
    })
  }

  send(line: string): void {
    this.line = line
    this.socket.write(line)
  }

  private outcome(): Outcome {
    if (this.failure !== undefined) return this.failure
    if (this.line === undefined) return { ok: false, kind: 'no-reply', detail: 'closed before a line was sent' }
    if (this.received === this.line) return { ok: true }
    return this.received === ''
      ? { ok: false, kind: 'no-reply', detail: `closed without a reply to ${JSON.stringify(this.line)}` }
      : { ok: false, kind: 'wrong-echo', detail: `sent ${JSON.stringify(this.line)}, got ${JSON.stringify(this.received)}` }
  }
}

export const exchange = async (target: Target, line: string, hangMs: number): Promise<Outcome> => {
  const client = new EchoClient(target, hangMs)
  if (await client.connected) client.send(line)
  return client.result
}

export interface Load {
  readonly stats: Stats
  /** Stops the loops after their current exchange and returns the final stats. */
  readonly stop: () => Promise<Stats>
}

/** `concurrency` loops, each doing one exchange after another until stopped. */
export const startLoad = (target: Target, concurrency: number, hangMs = 60_000): Load => {
  const stats = emptyStats()
  let running = true
  const loop = async (worker: number): Promise<void> => {
    for (let seq = 0; running; seq++) {
      const outcome = await exchange(target, uniqueLine(`w${worker}.${seq}`), hangMs)
      record(stats, outcome)
      if (!outcome.ok) await new Promise((r) => setTimeout(r, 1)) // a target failing fast must not starve the event loop
    }
  }
  const loops = Array.from({ length: concurrency }, (_, i) => loop(i))
  return {
    stats,
    stop: async () => {
      running = false
      await Promise.all(loops)
      return stats
    },
  }
}

/** Clients that connect now and finish later: `finish` sends each its line and waits for the echoes. */
export const holdClients = async (target: Target, n: number, hangMs = 60_000): Promise<{ finish: () => Promise<Outcome[]> }> => {
  const clients = Array.from({ length: n }, () => new EchoClient(target, hangMs))
  const connected = await Promise.all(clients.map((c) => c.connected))
  return {
    finish: () => {
      clients.forEach((c, i) => {
        if (connected[i] === true) c.send(uniqueLine(`held${i}`))
      })
      return Promise.all(clients.map((c) => c.result))
    },
  }
}
