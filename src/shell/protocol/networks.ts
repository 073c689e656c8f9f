/**
 * Allowed networks: a connection from an address outside `allowedNetworks` is closed the moment it is
 * accepted, before the TLS handshake and the handler; each is logged at debug, with a warning at most
 * once a minute that counts them. Matching is node's BlockList; an IPv4 client seen through an IPv6
 * socket (::ffff:a.b.c.d) counts as its IPv4 address. UNIX sockets have no address: they are not checked.
 */
import { BlockList, isIPv4, isIPv6, type Socket } from 'node:net'
import { type Cidr, formatCidr } from '../../core/cidr'
import { rateLimited } from '../log/rateLimited'
import type { Log } from '../log/logger'
import type { Protocol } from './protocol'

export const allows = (list: BlockList, address: string | undefined): boolean => {
  if (address === undefined) return true
  const mapped = address.toLowerCase().startsWith('::ffff:') ? address.slice(7) : undefined
  if (mapped !== undefined && isIPv4(mapped)) return list.check(mapped, 'ipv4')
  return isIPv6(address) ? list.check(address, 'ipv6') : list.check(address, 'ipv4')
}

export const networkGate = (inner: Protocol, networks: readonly Cidr[], log: Log): Protocol => {
  const list = new BlockList()
  for (const n of networks) list.addSubnet(n.address, n.prefix, n.family)
  const refused = rateLimited(log, 'client-refused')
  const listed = networks.map(formatCidr).join(', ')
  return {
    ...inner,
    accept: (socket: Socket, id) => {
      if (allows(list, socket.remoteAddress)) {
        inner.accept(socket, id)
        return
      }
      refused({ remote: socket.remoteAddress ?? null, connection: id }, `closed a connection from ${String(socket.remoteAddress)}: not in allowedNetworks (${listed})`)
      socket.destroy()
    },
  }
}
