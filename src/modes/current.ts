/**
 * The server this process runs. A process serves one config: signals, the pidfile and the inherited
 * sockets belong to the process, not to a call of `serve`. So this is the one piece of process-wide state
 * the modes keep (docs/ARCHITECTURE.md, "Where state lives"): whether `serve` has taken the process, and
 * what the process is to its server once it has prepared (`serverInfo()`).
 */
import type { ServerInfo } from '../shell/options'

type Current = { readonly _tag: 'Free' } | { readonly _tag: 'Taken' } | { readonly _tag: 'Serving'; readonly info: ServerInfo }

let current: Current = { _tag: 'Free' }

/** Takes the process for a server; `false` when one has it already. */
export const take = (): boolean => {
  if (current._tag !== 'Free') return false
  current = { _tag: 'Taken' }
  return true
}

/** The server has prepared: this is what the process is to it. */
export const prepared = (info: ServerInfo): void => {
  current = { _tag: 'Serving', info }
}

/** The server has stopped (or could not start): the process may serve again. */
export const release = (): void => {
  current = { _tag: 'Free' }
}

/** What this process is to the server it runs, once `serve` has prepared it; `undefined` before and after. */
export const serverInfo = (): ServerInfo | undefined => (current._tag === 'Serving' ? current.info : undefined)
