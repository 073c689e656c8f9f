/**
 * The control socket itself: a UNIX socket at `controlPath` (mode 0600, so only the server's own user
 * can connect; the kernel refuses others), bound with a listener's care (stale probe, atomic publish,
 * removal only while still ours). It is passed from generation to generation like a listener; a
 * successor starts accepting on it only once its parent has let go, so that requests always reach the
 * generation in charge.
 */
import net = require('node:net')
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as TE from 'fp-ts/TaskEither'
import { unix } from '../../core/bind'
import type { InheritedControl, SocketId } from '../../core/wire/inherit'
import type { ListenError } from '../listener'
import { bindUnix, removeOwnSocketFile, type SocketFileOutcome } from '../listener/unix'
import type { Errno } from '../os/errno'

/** Only the server's own user may connect. */
const CONTROL_MODE = 0o600

export interface ControlSocket {
  readonly server: net.Server
  readonly fd: number
  readonly path: string
  /** The socket file, when this server created it. */
  readonly socketId: O.Option<SocketId>
  /**
   * Lets connections reach the server's 'connection' listeners: call it once those are attached. An
   * inherited socket starts accepting then (a successor's, once its parent has let go); a bound one
   * accepts from its bind on, and the connections that came before are handed over now, in order.
   */
  readonly open: () => void
  /** Removes the socket file if it is still ours (at a final stop). */
  readonly removeFile: () => TE.TaskEither<Errno, SocketFileOutcome>
}

const removing = (path: string, socketId: O.Option<SocketId>) => (): TE.TaskEither<Errno, SocketFileOutcome> => removeOwnSocketFile({ bind: unix(path), socketId })

/**
 * A new control socket at `path`. It accepts from its bind on (a request then waits in the kernel's
 * queue no longer than it must), but what it accepts before `open` is held, paused, and handed to the
 * server's listeners at `open`: a request that arrives while the server starts is answered, not lost.
 */
export const bindControl = (path: string, onStale: () => void): TE.TaskEither<ListenError, ControlSocket> => {
  const server = net.createServer()
  const held: net.Socket[] = []
  const hold = (socket: net.Socket): void => {
    socket.pause()
    held.push(socket)
  }
  server.on('connection', hold)
  const open = (): void => {
    if (!server.listeners('connection').includes(hold)) return
    server.removeListener('connection', hold)
    for (const socket of held.splice(0)) {
      server.emit('connection', socket)
      socket.resume()
    }
  }
  return pipe(
    bindUnix(server, { _tag: 'Unix', path }, CONTROL_MODE, onStale),
    TE.map((l): ControlSocket => ({ server: l.server, fd: l.fd, path, socketId: l.socketId, open, removeFile: removing(path, l.socketId) })),
  )
}

/** The control socket a parent passed down; it accepts once `open` is called. */
export const inheritControl = (c: InheritedControl, path: string): ControlSocket => {
  const server = net.createServer()
  return {
    server,
    fd: c.fd,
    path,
    socketId: c.socketId,
    open: () => {
      if (!server.listening) server.listen({ fd: c.fd })
    },
    removeFile: removing(path, c.socketId),
  }
}
