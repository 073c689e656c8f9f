/**
 * Each line read from a socket or pipe (a channel, a control connection). readline re-emits its input's errors as its own, and an 'error'
 * nobody listens to crashes the process: the stream's own error listener is where errors are handled.
 */
import type { Interface } from 'node:readline'
import type { Readable } from 'node:stream'
import { loadReadline } from './lazy'

export const eachLine = (input: Readable, onLine: (line: string) => void): Interface => {
  const rl = loadReadline().createInterface({ input, crlfDelay: Infinity })
  rl.on('error', () => undefined)
  rl.on('line', onLine)
  return rl
}
