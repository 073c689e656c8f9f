/**
 * Connections: counts each accepted socket from accept until it has closed, whatever the handler does,
 * keeps the set of open sockets (for the drain timeout), and hands each one to the protocol.
 * This runs for every connection, so it allocates as little as it can: the listeners are shared.
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
  /** How many have been accepted in all. */
  readonly accepted: () => number
}

const ignore = (): void => undefined

export const trackConnections = (events: ConnectionEvents, accept: (socket: Socket, id: number) => void): Connections => {
  const sockets = new Set<Socket>()
  let lastId = 0
  // 'close' is emitted once per socket; `this` is the socket
  function onClose(this: Socket): void {
    sockets.delete(this)
    events.closed()
  }
  return {
    onConnection: (socket) => {
      const id = ++lastId
      sockets.add(socket)
      events.opened()
      socket.on('close', onClose)
      socket.on('error', ignore) // resets and the like: the socket closes and is counted out
      accept(socket, id)
    },
    destroyAll: () => {
      const n = sockets.size
      for (const s of sockets) s.destroy()
      return n
    },
    open: () => sockets.size,
    accepted: () => lastId,
  }
}
