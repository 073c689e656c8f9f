/**
 * Which listener a connection came in on, for a process with several: the address of the server that
 * accepted it (a TLS socket is looked up through the plain socket it wraps). Node puts the accepting
 * server on each accepted socket, so this costs nothing per connection.
 */
import type { Server, Socket } from 'node:net'
import { plainSocketOf } from '../os/handles'

const addresses = new WeakMap<Server, string>()

/** Called once a listener listens, with the address it reports. */
export const nameListener = (server: Server, address: string): void => {
  addresses.set(server, address)
}

/**
 * The address (as the `listening` log line names it) of the listener that accepted `socket`.
 *
 * @param socket - an accepted socket (a `req.socket` too)
 * @returns the address; `undefined` for a socket no listener of this server accepted
 */
export const listenerOf = (socket: Socket): string | undefined => {
  const accepted = (plainSocketOf(socket) ?? socket) as Socket & { readonly server?: Server }
  return accepted.server !== undefined ? addresses.get(accepted.server) : undefined
}

/** The listening server that accepted `socket` (through a TLS socket, its plain one's). */
export const acceptedBy = (socket: Socket): Server | undefined => {
  const accepted: Socket & { readonly server?: Server } = plainSocketOf(socket) ?? socket
  return accepted.server
}
