/**
 * Measure 8 (issue 12): TLS through the library against a raw `tls.Server` with the same certificate,
 * key and handler (`bench/servers/rawTlsEcho.ts`), in alternating rounds of the same run.
 *
 * Handshakes: the echo example with `tls` in its config, connection-per-exchange echo over TLS, so every
 * exchange is a full handshake (the client keeps no session): exchanges/s and server CPU per exchange,
 * as section 2 measures them (`round`).
 *
 * Throughput: a few long-lived TLS connections, each streaming a known pattern through the stream echo
 * handler (`echoStream`, run by `bench/servers/streamEcho.ts` on the library) with at most `WINDOW`
 * bytes in flight; every byte that comes back is compared with what was sent. Echoed bytes/s and server
 * CPU per MiB, over a window that starts after a warm-up; then each client ends its side and must get
 * every byte back before the server closes.
 */
import { randomBytes } from 'node:crypto'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { performance } from 'node:perf_hooks'
import * as tls from 'node:tls'
import { type Certs, makeCerts } from '../test/support/certs'
import { DIST, portOf, ServerProcess, tempDir, writeJson } from '../test/support/harness'
import { type OverheadOptions, round, type Round } from './overhead'
import { cpuNs, sleep } from './proc'
import { alternate } from './alternate'

const RAW_TLS = path.join(DIST, 'bench/servers/rawTlsEcho.js')
const STREAM_ECHO = path.join(DIST, 'bench/servers/streamEcho.js')

/** The bytes each connection streams, over and over: an odd size, so chunks fall anywhere in it. */
const PATTERN = randomBytes((1 << 20) + 13)
const CHUNK = 64 * 1024
/** Bytes a connection may have sent and not yet got back. */
const WINDOW = 1 << 20
const HANG_MS = 60_000

export interface StreamRound {
  /** Echoed bytes received in the measured window, all connections. */
  readonly bytes: number
  readonly bytesPerSecond: number
  readonly cpuNsPerMiB: number
  readonly failed: number
  readonly failures: readonly string[]
  /** What the first connection negotiated: protocol and cipher. */
  readonly negotiated: string
}

export interface TlsOptions extends OverheadOptions {
  /** Long-lived connections for the throughput rounds. */
  readonly streams: number
}

export interface TlsBench {
  /** Connection-per-exchange echo over TLS: the echo example against rawTlsEcho.js. */
  readonly handshakes: { readonly library: readonly Round[]; readonly raw: readonly Round[] }
  readonly stream: { readonly library: readonly StreamRound[]; readonly raw: readonly StreamRound[] }
}

/** One long-lived connection streaming PATTERN and checking every byte that comes back. */
class StreamClient {
  sent = 0
  received = 0
  readonly connected: Promise<boolean>
  readonly done: Promise<string | undefined>
  private readonly socket: tls.TLSSocket
  private sending = true
  private blocked = false
  private failure: string | undefined

  constructor(target: { readonly host: string; readonly port: number; readonly tls: tls.ConnectionOptions }) {
    this.socket = tls.connect({ host: target.host, port: target.port, ...target.tls })
    this.socket.setTimeout(HANG_MS, () => {
      this.failure ??= `timeout: no progress for ${HANG_MS} ms (sent ${this.sent}, received ${this.received})`
      this.socket.destroy()
    })
    this.socket.on('error', (err: NodeJS.ErrnoException) => {
      this.failure ??= `${err.code ?? 'error'}: ${err.message} (sent ${this.sent}, received ${this.received})`
    })
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk))
    this.socket.on('drain', () => {
      this.blocked = false
      this.pump()
    })
    this.connected = new Promise((resolve) => {
      this.socket.once('secureConnect', () => resolve(true))
      this.socket.once('close', () => resolve(false))
    })
    this.done = new Promise((resolve) => {
      this.socket.once('close', () => {
        if (this.failure === undefined && this.received !== this.sent) this.failure = `short: sent ${this.sent}, got ${this.received} back before the close`
        resolve(this.failure)
      })
    })
  }

  start(): void {
    this.pump()
  }

  negotiated(): string {
    return `${this.socket.getProtocol() ?? 'unknown protocol'} ${this.socket.getCipher().standardName}`
  }

  /** Stops sending and ends this side: the server echoes what is in flight and closes. */
  stop(): void {
    this.sending = false
    this.socket.end()
  }

  private pump(): void {
    while (this.sending && !this.blocked && this.sent - this.received < WINDOW) {
      const offset = this.sent % PATTERN.length
      const n = Math.min(CHUNK, PATTERN.length - offset, WINDOW - (this.sent - this.received))
      this.sent += n
      if (!this.socket.write(PATTERN.subarray(offset, offset + n))) this.blocked = true
    }
  }

  private onData(chunk: Buffer): void {
    let at = 0
    while (at < chunk.length) {
      const offset = (this.received + at) % PATTERN.length
      const n = Math.min(chunk.length - at, PATTERN.length - offset)
      if (!chunk.subarray(at, at + n).equals(PATTERN.subarray(offset, offset + n))) {
        this.failure ??= `wrong-echo: the bytes at offset ${this.received + at} differ from those sent`
        this.socket.destroy()
        return
      }
      at += n
    }
    this.received += chunk.length
    if (this.received > this.sent) {
      this.failure ??= `wrong-echo: got ${this.received} bytes back of ${this.sent} sent`
      this.socket.destroy()
      return
    }
    this.pump()
  }
}

/** `streams` connections streaming for a warm-up and then `seconds`; the server's CPU over `pids`. */
export const streamRound = async (
  pids: readonly number[],
  target: { readonly host: string; readonly port: number; readonly tls: tls.ConnectionOptions },
  o: { readonly streams: number; readonly seconds: number },
): Promise<StreamRound> => {
  const cpu = (): number => pids.reduce((sum, pid) => sum + cpuNs(pid), 0)
  const clients = Array.from({ length: o.streams }, () => new StreamClient(target))
  const connected = await Promise.all(clients.map((c) => c.connected))
  const received = (): number => clients.reduce((sum, c) => sum + c.received, 0)
  for (const [i, c] of clients.entries()) if (connected[i] === true) c.start()
  const negotiated = clients[0]?.negotiated() ?? 'none'
  await sleep(500)
  const [bytes0, cpu0, t0] = [received(), cpu(), performance.now()]
  await sleep(o.seconds * 1000)
  const [bytes1, cpu1, t1] = [received(), cpu(), performance.now()]
  for (const c of clients) c.stop()
  const failures = (await Promise.all(clients.map((c) => c.done))).filter((f): f is string => f !== undefined)
  const bytes = bytes1 - bytes0
  return { bytes, bytesPerSecond: bytes / ((t1 - t0) / 1000), cpuNsPerMiB: (cpu1 - cpu0) / (bytes / 2 ** 20), failed: failures.length, failures, negotiated }
}

const listeningTarget = async (s: ServerProcess): Promise<{ host: string; port: number }> => ({ host: '127.0.0.1', port: portOf(await s.event(s.pid, 'listening')) })

export const tlsBench = async (o: TlsOptions): Promise<TlsBench> => {
  const dir = tempDir()
  const servers: ServerProcess[] = []
  const started = (s: ServerProcess): ServerProcess => {
    servers.push(s)
    return s
  }
  try {
    const certs: Certs = makeCerts(dir)
    const client: tls.ConnectionOptions = { ca: fs.readFileSync(certs.ca) }
    const tlsConfig = { certPath: certs.server.cert, keyPath: certs.server.key }
    const libEcho = started(ServerProcess.echo(writeJson(path.join(dir, 'echo.json'), { bind: 'tcp://127.0.0.1:0', tls: tlsConfig })))
    const rawEcho = started(new ServerProcess([RAW_TLS, certs.server.cert, certs.server.key, 'line']))
    const libStream = started(new ServerProcess([STREAM_ECHO, writeJson(path.join(dir, 'stream.json'), { bind: 'tcp://127.0.0.1:0', tls: tlsConfig })]))
    const rawStream = started(new ServerProcess([RAW_TLS, certs.server.cert, certs.server.key, 'stream']))
    const at = async (s: ServerProcess): Promise<{ host: string; port: number; tls: tls.ConnectionOptions }> => ({ ...(await listeningTarget(s)), tls: client })
    const [libEchoAt, rawEchoAt, libStreamAt, rawStreamAt] = [await at(libEcho), await at(rawEcho), await at(libStream), await at(rawStream)]

    const handshakes = await alternate(
      o.rounds,
      () => round([libEcho.pid], libEchoAt, o),
      () => round([rawEcho.pid], rawEchoAt, o),
    )
    const stream = await alternate(
      o.rounds,
      () => streamRound([libStream.pid], libStreamAt, o),
      () => streamRound([rawStream.pid], rawStreamAt, o),
    )
    return { handshakes: { library: handshakes.a, raw: handshakes.b }, stream: { library: stream.a, raw: stream.b } }
  } finally {
    for (const s of servers) s.killAll()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
