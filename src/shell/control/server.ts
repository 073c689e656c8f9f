/**
 * The control socket, the server's side: accepts connections on a UNIX socket (mode 0600: only its own
 * user can connect), reads one JSON request per line (see core/control.ts), and answers each: a status
 * at once, a stop once it has begun, a restart once its outcome is known (the conversation stays open
 * until then, even while this process drains). A malformed request gets an error reply.
 */
import type * as net from 'node:net'
import type * as E from 'fp-ts/Either'
import { decodeRequest, encodeReply, isBadRequest, type Reply, type RequestId, type Status } from '../../core/control'
import type { RestartOutcome } from '../../core/outcome'
import type { Log } from '../log/logger'
import { eachLine } from '../os/eachLine'
import { messageOf } from '../os/errno'

/** A request line longer than this is refused and the connection closed. */
const MAX_LINE_BYTES = 64 * 1024

export interface ControlHandler {
  /** Start a restart for request `n`; its outcome comes back through ControlServer.answer. */
  readonly restart: (n: number) => void
  readonly status: () => Promise<Status>
  /** Start stopping: the pids that will exit, or why not now. */
  readonly stop: () => E.Either<string, readonly number[]>
}

export interface ControlServer {
  /** Sends a restart's outcome to the requests that asked for it. */
  readonly answer: (requests: readonly number[], outcome: RestartOutcome) => void
  /** Stops accepting (conversations in progress go on). */
  readonly close: () => void
  /** Ends every conversation. */
  readonly destroyAll: () => void
}

export const serveControl = (server: net.Server, handler: ControlHandler, log: Log): ControlServer => {
  const open = new Set<net.Socket>()
  const waiting = new Map<number, { readonly socket: net.Socket; readonly id: RequestId }>()
  let next = 0
  const send = (socket: net.Socket, reply: Reply): void => {
    if (!socket.destroyed) socket.write(encodeReply(reply))
  }
  server.on('connection', (socket: net.Socket) => {
    open.add(socket)
    socket.on('error', () => undefined) // a requester that went away: nothing to tell
    socket.once('close', () => open.delete(socket))
    let pending = 0 // bytes since the last newline
    socket.on('data', (chunk: Buffer) => {
      const newline = chunk.lastIndexOf(10)
      pending = newline < 0 ? pending + chunk.length : chunk.length - newline - 1
      if (pending > MAX_LINE_BYTES && !socket.destroyed) {
        send(socket, { _tag: 'Error', id: null, code: 'bad-request', message: `a request line may be ${MAX_LINE_BYTES} bytes at most` })
        socket.destroySoon()
      }
    })
    eachLine(socket, (line) => {
      const request = decodeRequest(line)
      if (isBadRequest(request)) {
        log.debug({ event: 'control-bad-request', error: request.message }, `control: ${request.message}`)
        send(socket, { _tag: 'Error', id: request.id, code: 'bad-request', message: request.message })
        return
      }
      const { id } = request
      log.info({ event: 'control-request', op: request.op, id }, `control: ${request.op} requested`)
      switch (request.op) {
        case 'status':
          handler.status().then(
            (status) => send(socket, { _tag: 'Status', id, status }),
            (err: unknown) => send(socket, { _tag: 'Error', id, code: 'internal', message: messageOf(err) }),
          )
          return
        case 'stop': {
          const stopping = handler.stop()
          send(socket, stopping._tag === 'Right' ? { _tag: 'Stopping', id, pids: stopping.right } : { _tag: 'Error', id, code: 'busy', message: stopping.left })
          return
        }
        case 'restart': {
          const n = ++next
          waiting.set(n, { socket, id })
          handler.restart(n)
          return
        }
      }
    })
  })
  return {
    answer: (requests, outcome) => {
      for (const n of requests) {
        const w = waiting.get(n)
        waiting.delete(n)
        if (w !== undefined) send(w.socket, { _tag: 'Outcome', id: w.id, outcome })
      }
    },
    close: () => {
      if (server.listening) server.close()
    },
    destroyAll: () => {
      if (server.listening) server.close()
      for (const s of open) s.destroy()
    },
  }
}
