/**
 * An unchanged application's `listen()` calls (`uninterruptible run`): what each asks for, read from the
 * argument forms Node accepts (`listen(port, host?, backlog?, cb?)`, `listen(path, cb?)`,
 * `listen(options, cb?)`, `listen(handle, cb?)`, `listen(cb?)`), and the hook on `net.Server`'s listen,
 * which every server kind inherits (http, https, http2, and what frameworks build on them).
 */
import net = require('node:net')
import type { ListenRequest } from '../../core/listenMatch'

export interface ListenCall {
  readonly request: ListenRequest
  /** The callback Node would run once listening. */
  readonly callback: (() => void) | undefined
}

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null

/** A port as Node takes it: a number, or a string of digits. */
const portOf = (u: unknown): number | undefined => {
  if (typeof u === 'number' && Number.isInteger(u)) return u
  if (typeof u === 'string' && /^\d+$/.test(u)) return Number(u)
  return undefined
}

const fromOptions = (o: Readonly<Record<string, unknown>>): ListenRequest => {
  if (o.fd !== undefined || o.handle !== undefined || '_handle' in o) return { _tag: 'Handle' }
  if (typeof o.path === 'string' && o.path !== '') return { _tag: 'Unix', path: o.path }
  const host = typeof o.host === 'string' ? o.host : undefined
  return { _tag: 'Tcp', port: portOf(o.port) ?? 0, host }
}

/** What a `listen(...)` call asks for, as Node's own argument reading sees it. */
export const readListenCall = (args: readonly unknown[]): ListenCall => {
  const last = args[args.length - 1]
  const callback = typeof last === 'function' ? (last as () => void) : undefined
  const [first, second] = args
  if (first === undefined || typeof first === 'function') return { request: { _tag: 'Tcp', port: 0, host: undefined }, callback }
  if (isRecord(first)) return { request: fromOptions(first), callback }
  const port = portOf(first)
  if (port === undefined && typeof first === 'string') return { request: { _tag: 'Unix', path: first }, callback }
  return { request: { _tag: 'Tcp', port: port ?? 0, host: typeof second === 'string' ? second : undefined }, callback }
}

/** What the hook does with a call: serve it (the hook then returns the server, as listen does), or let Node listen as asked. */
export type ListenDecision = 'served' | 'native'

export type OnListen = (server: net.Server, call: ListenCall, args: readonly unknown[]) => ListenDecision

/**
 * Hooks `net.Server.prototype.listen`: each call is first offered to `onListen`; one it does not serve
 * listens as Node would. Returns the function that takes the hook off.
 */
export const hookListen = (onListen: OnListen): (() => void) => {
  // eslint-disable-next-line @typescript-eslint/unbound-method -- called with the server as `this` below
  const native = net.Server.prototype.listen
  function listen(this: net.Server, ...args: unknown[]): net.Server {
    if (onListen(this, readListenCall(args), args) === 'served') return this
    return (native as (...a: unknown[]) => net.Server).apply(this, args)
  }
  net.Server.prototype.listen = listen as typeof net.Server.prototype.listen
  return () => {
    net.Server.prototype.listen = native
  }
}
