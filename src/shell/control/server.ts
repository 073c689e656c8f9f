/**
 * The control socket, the server's side: accepts connections on a UNIX socket (mode 0600: only its own
 * user can connect), reads one JSON request per line (see core/wire/control.ts), and answers each: a status
 * at once, a stop once it has begun, a restart once its outcome is known (the conversation stays open
 * until then, even while this process drains; the restarts waiting for their outcome are kept in a
 * request table, shell/requestReply.ts). A malformed request gets an error reply saying what is wrong.
 *
 * Its memory is bounded, whatever a client does (a process of the same user may connect, and this may
 * be a container's PID 1): at most MAX_CONNECTIONS connections, a request line of at most
 * MAX_LINE_BYTES, and at most MAX_IN_FLIGHT requests per connection waiting for their replies to be
 * answered and written; while a reply waits to be written (a client that does not read), the
 * connection is not read. A connection past a limit gets an error reply (code `limit`) and is closed,
 * and that is logged (`control-closed`).
 */
import type * as net from 'node:net'
import * as E from 'fp-ts/Either'
import type { RestartOutcome } from '../../core/outcome'
import { decodeRequest, encodeReply, outcomeJson, type Reply, type Request, type Status } from '../../core/wire/control'
import type { Log } from '../log/logger'
import { rateLimited } from '../log/rateLimited'
import { messageOf } from '../os/errno'
import { requestReply } from '../requestReply'

/** A request line longer than this is refused and the connection closed. */
export const MAX_LINE_BYTES = 64 * 1024
/** Requests one connection may have read and not yet seen answered and written; one more closes it. */
export const MAX_IN_FLIGHT = 16
/** Connections open at once; one more is refused. */
export const MAX_CONNECTIONS = 64
/** How long a connection closed for a limit may take to close its side. */
const CLOSE_GRACE_MS = 1000

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

type CloseReason = 'too-many-connections' | 'too-many-requests' | 'line-too-long'

const NEWLINE = 10

export const serveControl = (server: net.Server, handler: ControlHandler, log: Log): ControlServer => {
  const open = new Set<net.Socket>()
  /** Restarts waiting for their outcome, by the number the lifecycle knows them by (its Answer effects name them). */
  const restarts = requestReply<RestartOutcome, 'closed'>()
  // a flood of them is said once a minute, per reason
  const closedLog: Readonly<Record<CloseReason, (fields: Readonly<Record<string, unknown>>, message: string) => void>> = {
    'too-many-connections': rateLimited(log, 'control-closed'),
    'too-many-requests': rateLimited(log, 'control-closed'),
    'line-too-long': rateLimited(log, 'control-closed'),
  }

  let closing = 0
  /**
   * Says why (an error reply with `code`) and closes the connection: what it still sends is read and
   * discarded, since closing a socket with input unread resets it and the client may lose the reply.
   * It is destroyed once the client has closed too, or CLOSE_GRACE_MS later (at once while
   * MAX_CONNECTIONS others are closing).
   */
  const closeFor = (socket: net.Socket, reason: CloseReason, code: 'bad-request' | 'limit', message: string, fields: Readonly<Record<string, unknown>>): void => {
    if (socket.destroyed || socket.writableEnded) return
    closedLog[reason]({ reason, ...fields }, `control: connection closed (${reason}): ${message}`)
    socket.end(encodeReply({ _tag: 'Error', id: null, code, message }))
    socket.resume()
    if (closing >= MAX_CONNECTIONS) {
      socket.destroy()
      return
    }
    closing += 1
    const timer = setTimeout(() => socket.destroy(), CLOSE_GRACE_MS)
    timer.unref()
    socket.once('close', () => {
      closing -= 1
      clearTimeout(timer)
    })
  }

  const converse = (socket: net.Socket): void => {
    let inFlight = 0
    const send = (reply: Reply): void => {
      if (socket.destroyed || socket.writableEnded) return
      const more = socket.write(encodeReply(reply), () => (inFlight -= 1))
      if (!more) socket.pause() // read no more requests until the client has taken the replies
    }
    socket.on('drain', () => {
      if (!socket.writableEnded) socket.resume()
    })

    const serve = ({ id, op }: Request): void => {
      log.info({ event: 'control-request', op, id }, `control: ${op} requested`)
      switch (op) {
        case 'status':
          handler.status().then(
            (status) => send({ _tag: 'Status', id, status }),
            (err: unknown) => send({ _tag: 'Error', id, code: 'internal', message: messageOf(err) }),
          )
          return
        case 'stop': {
          const stopping = handler.stop()
          send(stopping._tag === 'Right' ? { _tag: 'Stopping', id, pids: stopping.right } : { _tag: 'Error', id, code: 'busy', message: stopping.left })
          return
        }
        case 'restart':
          // the reply goes with the caller's id once the outcome is known; the table's own number goes to the lifecycle
          restarts.ask(
            (n) => handler.restart(n),
            (r) => {
              if (E.isRight(r)) send({ _tag: 'Outcome', id, outcome: outcomeJson(r.right) })
            },
          )
          return
      }
    }

    const request = (line: string): void => {
      inFlight += 1
      if (inFlight > MAX_IN_FLIGHT) {
        const message = `at most ${MAX_IN_FLIGHT} requests may wait for their replies on one connection: read the replies before sending more`
        closeFor(socket, 'too-many-requests', 'limit', message, { inFlight: inFlight - 1 })
        return
      }
      const decoded = decodeRequest(line)
      if (E.isLeft(decoded)) {
        const bad = decoded.left
        log.debug({ event: 'control-bad-request', error: bad.message }, `control: ${bad.message}`)
        send({ _tag: 'Error', id: bad.id, code: 'bad-request', message: bad.message })
        return
      }
      serve(decoded.right)
    }

    // lines split here rather than by readline, which goes on emitting the lines of a chunk after the connection is closed
    let partial: Buffer[] = []
    let partialBytes = 0
    const tooLong = (): void => {
      const message = `a request line may be ${MAX_LINE_BYTES} bytes at most`
      closeFor(socket, 'line-too-long', 'bad-request', message, { limit: MAX_LINE_BYTES })
    }
    socket.on('data', (chunk: Buffer) => {
      let start = 0
      for (let nl = chunk.indexOf(NEWLINE); nl >= 0 && !socket.writableEnded; nl = chunk.indexOf(NEWLINE, start)) {
        const piece = chunk.subarray(start, nl)
        start = nl + 1
        if (partialBytes + piece.length > MAX_LINE_BYTES) {
          tooLong()
          return
        }
        const line = partialBytes === 0 ? piece : Buffer.concat([...partial, piece])
        partial = []
        partialBytes = 0
        request(line.toString('utf8'))
      }
      if (socket.writableEnded || start >= chunk.length) return
      const rest = chunk.subarray(start)
      partialBytes += rest.length
      if (partialBytes > MAX_LINE_BYTES) tooLong()
      else partial.push(rest)
    })
    // a last line without its newline, as the client ends
    socket.once('end', () => {
      if (partialBytes > 0 && !socket.writableEnded) request(Buffer.concat(partial).toString('utf8'))
    })
  }

  server.on('connection', (socket: net.Socket) => {
    socket.on('error', () => undefined) // a requester that went away: nothing to tell
    if (open.size >= MAX_CONNECTIONS) {
      const message = `${MAX_CONNECTIONS} control connections are open, the most there may be; try again once one has closed`
      closeFor(socket, 'too-many-connections', 'limit', message, { connections: open.size })
      return
    }
    open.add(socket)
    socket.once('close', () => open.delete(socket))
    converse(socket)
  })
  return {
    answer: (requests, outcome) => {
      for (const n of requests) restarts.answer(n, outcome)
    },
    close: () => {
      if (server.listening) server.close()
    },
    destroyAll: () => {
      if (server.listening) server.close()
      restarts.close('closed')
      for (const s of open) s.destroy()
    },
  }
}
