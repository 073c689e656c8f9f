/**
 * Modules loaded on first use instead of at start-up. A successor's start-up is on the handoff's
 * critical path (the old process waits for its ready byte), and these are not needed before then:
 * the logging library (about 11 ms to load here). The code that spawns successors (child_process) is
 * loaded on first use too (spawn.ts).
 * `node:http` is loaded only by HTTP servers, `node:tls` and `node:crypto` (about 4 ms) only when used,
 * `node:dns` (about 4 ms) only by a supervisor resolving a host name, `node:readline` on the first line read.
 */
/* eslint-disable @typescript-eslint/no-require-imports -- deliberate lazy loading, see above */
// each `require` here is typed as its module is (require.d.ts)

export const once = <A>(f: () => A): (() => A) => {
  let cell: { readonly value: A } | undefined
  return () => (cell ??= { value: f() }).value
}

export const loadPino = once(() => require('pino'))
export const loadHttp = once(() => require('node:http'))
export const loadHttps = once(() => require('node:https'))
export const loadTls = once(() => require('node:tls'))
export const loadCrypto = once(() => require('node:crypto'))
export const loadDns = once(() => require('node:dns/promises'))
export const loadReadline = once(() => require('node:readline'))
export const loadOs = once(() => require('node:os'))
export const loadCluster = once(() => require('node:cluster'))
