/**
 * Modules loaded on first use instead of at start-up. A successor's start-up is on the handoff's
 * critical path (the old process waits for its ready byte), and these are not needed before then:
 * the logging library (about 11 ms to load here). The code that spawns successors (child_process) is
 * loaded on first use too (spawn.ts).
 * `node:http` is loaded only by HTTP servers, `node:tls` and `node:crypto` (about 4 ms) only when used,
 * `node:dns` (about 4 ms) only by a supervisor resolving a host name, `node:readline` on the first line read.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- deliberate lazy loading, see above */
import type * as Cluster from 'node:cluster'
import type * as Crypto from 'node:crypto'
import type * as Dns from 'node:dns/promises'
import type * as Os from 'node:os'
import type * as Http from 'node:http'
import type * as Https from 'node:https'
import type * as Readline from 'node:readline'
import type * as Tls from 'node:tls'
import type * as Pino from 'pino'

export const once = <A>(f: () => A): (() => A) => {
  let cell: { readonly value: A } | undefined
  return () => (cell ??= { value: f() }).value
}

export const loadPino = once((): typeof Pino => require('pino') as typeof Pino)
export const loadHttp = once((): typeof Http => require('node:http') as typeof Http)
export const loadHttps = once((): typeof Https => require('node:https') as typeof Https)
export const loadTls = once((): typeof Tls => require('node:tls') as typeof Tls)
export const loadCrypto = once((): typeof Crypto => require('node:crypto') as typeof Crypto)
export const loadDns = once((): typeof Dns => require('node:dns/promises') as typeof Dns)
export const loadReadline = once((): typeof Readline => require('node:readline') as typeof Readline)
export const loadOs = once((): typeof Os => require('node:os') as typeof Os)
export const loadCluster = once((): typeof Cluster.default => require('node:cluster') as typeof Cluster.default)
