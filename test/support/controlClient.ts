/**
 * A control-socket client for tests that talk more than the `uninterruptible` command does: one
 * connection, requests sent one at a time (each waits for its reply), replies parsed as they come.
 */
import * as net from 'node:net'
import { HANG_MS } from './harness'

export interface ControlReply {
  readonly id: string | number | null
  readonly ok: boolean
  readonly [key: string]: unknown
}

export class ControlConnection {
  readonly socket: net.Socket
  /** Settles when the server has closed the connection (or it failed). */
  readonly closed: Promise<void>
  private buffered = ''
  private readonly replies: ControlReply[] = []
  private waiting: ((r: ControlReply | null) => void) | null = null
  private ended = false

  private constructor(socket: net.Socket) {
    this.socket = socket
    socket.setEncoding('utf8')
    socket.on('data', (chunk: string) => {
      this.buffered += chunk
      for (let nl = this.buffered.indexOf('\n'); nl >= 0; nl = this.buffered.indexOf('\n')) {
        const reply = JSON.parse(this.buffered.slice(0, nl)) as ControlReply
        this.buffered = this.buffered.slice(nl + 1)
        const w = this.waiting
        this.waiting = null
        if (w !== null) w(reply)
        else this.replies.push(reply)
      }
    })
    socket.on('error', () => undefined)
    this.closed = new Promise((resolve) =>
      socket.once('close', () => {
        this.ended = true
        const w = this.waiting
        this.waiting = null
        if (w !== null) w(null)
        resolve()
      }),
    )
  }

  static open(path: string): Promise<ControlConnection> {
    return new Promise((resolve, reject) => {
      const socket = net.connect({ path })
      socket.once('error', reject)
      socket.once('connect', () => {
        socket.off('error', reject)
        resolve(new ControlConnection(socket))
      })
    })
  }

  /** The next reply; null once the server has closed the connection. */
  next(): Promise<ControlReply | null> {
    const r = this.replies.shift()
    if (r !== undefined) return Promise.resolve(r)
    if (this.ended) return Promise.resolve(null)
    return new Promise((resolve) => (this.waiting = resolve))
  }

  /** Sends one request and waits for its reply (null: the server closed the connection). */
  ask(op: string, id: string | number): Promise<ControlReply | null> {
    this.socket.write(`${JSON.stringify({ id, op })}\n`)
    return this.next()
  }

  close(): void {
    this.socket.destroy()
  }
}

/**
 * Sends `count` status requests on one connection, one after the other, each with an id of `idLength`
 * characters (the server logs each request with its id: a way to write much log fast). Resolves with
 * how many were answered; gives up, with what it got so far, once no reply has come for `hangMs`.
 */
export const askMany = async (path: string, count: number, idLength: number, hangMs = HANG_MS): Promise<number> => {
  const c = await ControlConnection.open(path)
  const pad = 'x'.repeat(Math.max(0, idLength - 8))
  let answered = 0
  try {
    for (let i = 0; i < count; i++) {
      const id = `${pad}${String(i).padStart(8, '0')}`
      let timer: NodeJS.Timeout | undefined
      const reply = await Promise.race([
        c.ask('status', id),
        new Promise<'hung'>((resolve) => (timer = setTimeout(() => resolve('hung'), hangMs))),
      ])
      clearTimeout(timer)
      if (reply === 'hung' || reply?.id !== id || !reply.ok) break
      answered += 1
    }
  } finally {
    c.close()
  }
  return answered
}
