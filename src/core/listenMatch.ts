/**
 * Which configured address serves an unchanged application's `listen()` call (`uninterruptible run`,
 * docs/ARCHITECTURE.md, "Unchanged apps"). Pure: the call is given as what it asks for, already read
 * from Node's argument forms (shell/app/listenCall.ts).
 *
 * The rules, in order:
 * - a UNIX path is served by the configured `unix://` address with that same path;
 * - a TCP port of 0 ("any free port") is served by none: it is bound as the application asked;
 * - a TCP port with no host, or a wildcard host (`0.0.0.0`, `::`), is served by the configured address
 *   with that port, whatever host it names: `--bind tcp://127.0.0.1:3000` meets `app.listen(3000)`;
 * - a TCP port with a host is served by the configured address with that port and that host;
 *   `localhost` stands for `127.0.0.1` and `::1`;
 * - an address already serving an earlier call of this process serves no second one: the second call
 *   fails as a second `listen` on a port in use does (EADDRINUSE).
 */
import { type Bind, type Binds, formatBind } from './bind'

/** What a `listen()` call asks for. */
export type ListenRequest =
  | { readonly _tag: 'Tcp'; readonly port: number; readonly host: string | undefined }
  | { readonly _tag: 'Unix'; readonly path: string }
  /** A handle or a file descriptor of the application's own: never ours to serve. */
  | { readonly _tag: 'Handle' }

export type ListenMatch =
  /** Served by configured address `index`. */
  | { readonly _tag: 'Served'; readonly index: number }
  /** Served by no configured address: bound as asked. */
  | { readonly _tag: 'Unmatched'; readonly why: string }
  /** The configured address for it already serves another call: refused as a port in use is. */
  | { readonly _tag: 'Taken'; readonly index: number }

const WILDCARDS = ['0.0.0.0', '::', '']
const LOOPBACK = ['127.0.0.1', '::1']

const hostMatches = (asked: string | undefined, bound: string): boolean => {
  if (asked === undefined || WILDCARDS.includes(asked)) return true
  const a = asked.toLowerCase()
  if (a === 'localhost') return LOOPBACK.includes(bound) || bound === 'localhost'
  if (bound === 'localhost') return LOOPBACK.includes(a)
  return a === bound.toLowerCase()
}

const matches = (request: ListenRequest, bind: Bind): boolean => {
  switch (request._tag) {
    case 'Unix':
      return bind._tag === 'Unix' && bind.path === request.path
    case 'Tcp':
      return bind._tag === 'Tcp' && bind.port === request.port && hostMatches(request.host, bind.host)
    case 'Handle':
      return false
  }
}

export const describeRequest = (r: ListenRequest): string => {
  switch (r._tag) {
    case 'Unix':
      return `listen(${JSON.stringify(r.path)})`
    case 'Tcp':
      return r.host === undefined ? `listen(${r.port})` : `listen(${r.port}, ${JSON.stringify(r.host)})`
    case 'Handle':
      return 'listen(a handle or fd)'
  }
}

/** The configured address that serves `request`, given which ones already serve (`taken`, by index). */
export const matchListen = (binds: Binds, request: ListenRequest, taken: ReadonlySet<number>): ListenMatch => {
  if (request._tag === 'Handle') return { _tag: 'Unmatched', why: 'it passes a handle or a file descriptor of its own' }
  if (request._tag === 'Tcp' && request.port === 0) return { _tag: 'Unmatched', why: 'port 0 asks for any free port, which no configured address is' }
  const candidates = binds.flatMap((b, index) => (matches(request, b) ? [index] : []))
  const free = candidates.find((i) => !taken.has(i))
  if (free !== undefined) return { _tag: 'Served', index: free }
  const first = candidates[0]
  if (first !== undefined) return { _tag: 'Taken', index: first }
  return { _tag: 'Unmatched', why: `no configured address matches it (configured: ${binds.map(formatBind).join(', ')})` }
}
