/**
 * Networks in CIDR notation (`10.0.0.0/8`, `2001:db8::/32`, or a single address), for `allowedNetworks`.
 * Pure: parsing only; the shell matches addresses with node's BlockList.
 */
import * as E from 'fp-ts/Either'
import { isIPv4, isIPv6 } from 'node:net' // pure string checks, no I/O

/** A network of `allowedNetworks`, decoded from CIDR notation (`10.0.0.0/8`; a single address is a /32 or a /128). */
export interface Cidr {
  /** The network's address, as written. */
  readonly address: string
  /** The prefix length: from 0 to 32 for IPv4, to 128 for IPv6. */
  readonly prefix: number
  /** The address's IP version. */
  readonly family: 'ipv4' | 'ipv6'
}

export const parseCidr = (input: string): E.Either<string, Cidr> => {
  const [address = '', prefixText, ...rest] = input.split('/')
  if (rest.length > 0) return E.left(`"${input}" has more than one "/": expected an address and a prefix length, such as 10.0.0.0/8`)
  const family = isIPv4(address) ? 'ipv4' : isIPv6(address) ? 'ipv6' : undefined
  if (family === undefined) return E.left(`"${input}" does not start with an IPv4 or IPv6 address: expected such as 10.0.0.0/8 or 2001:db8::/32`)
  const max = family === 'ipv4' ? 32 : 128
  if (prefixText === undefined) return E.right({ address, prefix: max, family })
  const prefix = /^\d{1,3}$/.test(prefixText) ? Number(prefixText) : NaN
  return prefix >= 0 && prefix <= max ? E.right({ address, prefix, family }) : E.left(`"${input}" has prefix length "${prefixText}": expected a whole number from 0 to ${max}`)
}

export const formatCidr = (c: Cidr): string => `${c.address}/${c.prefix}`
