/**
 * The Node inspector, opened by a SIGUSR1 that reached a new process while Node was still starting
 * (before the preload could listen for it; docs/ARCHITECTURE.md, "Signals while a process starts"). It
 * listens on 127.0.0.1:9229 for any local user. Once this process serves, an inspector that nobody asked
 * for (no --inspect flag on the command line or in NODE_OPTIONS) is closed.
 */
import * as O from 'fp-ts/Option'

const asked = (): boolean => [...process.execArgv, process.env.NODE_OPTIONS ?? ''].some((a) => a.includes('--inspect'))

/** Closes an inspector this process did not ask for; its address, if there was one. */
export const closeUnaskedInspector = (): O.Option<string> => {
  if (asked()) return O.none
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports -- loaded after ready, off the handoff's path
    const inspector = require('node:inspector')
    const url = inspector.url()
    if (url === undefined) return O.none
    inspector.close()
    return O.some(url)
  } catch {
    return O.none // a Node built without the inspector
  }
}
