/**
 * Connections: counts each accepted socket from accept until it has closed, whatever the handler does,
 * keeps the set of open sockets (for the drain timeout), and hands each one to the protocol.
 */
import type { Socket } from 'node:net'

export interface ConnectionEvents {
  readonly opened: () => void
  readonly closed: () => void
}

export interface Connections {
  readonly onConnection: (socket: Socket) => void
  /** Destroys every open socket; returns how many there were. */
  readonly destroyAll: () => number
  readonly open: () => number
}

export const trackConnections = (events: ConnectionEvents, accept: (socket: Socket, id: number) => void): Connections => {
  const sockets = new Set<Socket>()
  let lastId = 0
  return {
    onConnection: (socket) => {
      const id = ++lastId
      sockets.add(socket)
      events.opened()
      socket.once('close', () => {
        sockets.delete(socket)
        events.closed()
      })
      socket.on('error', () => undefined) // resets and the like: the socket closes and is counted out
      accept(socket, id)
    },
    destroyAll: () => {
      const n = sockets.size
      for (const s of sockets) s.destroy()
      return n
    },
    open: () => sockets.size,
  }
}
