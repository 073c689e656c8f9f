/**
 * Whether a signal can reach this process's JavaScript at all. A signal blocked in the main thread stays
 * pending for ever, and a listener for it is never called: that is what `--disable-sigusr1` does to
 * SIGUSR1 on Node 22.14 and later (docs/ARCHITECTURE.md, "Signals while a process starts"). Read from /proc (Linux); where
 * it cannot be read, nothing is said.
 */
import fs = require('node:fs')
import { constants } from 'node:os'

/** The signal's bit in a /proc status mask (hexadecimal, bit n-1 for signal n). */
const isSet = (hexMask: string, signal: number): boolean => {
  const mask = BigInt(`0x${hexMask}`)
  return ((mask >> BigInt(signal - 1)) & 1n) === 1n
}

/** Whether `signal` is blocked in this process's main thread; `false` when that cannot be told. */
export const isBlocked = (signal: NodeJS.Signals): boolean => {
  const n = constants.signals[signal]
  let status: string
  try {
    status = fs.readFileSync('/proc/self/status', 'latin1')
  } catch {
    return false
  }
  const mask = /^SigBlk:\s*([0-9a-fA-F]+)$/m.exec(status)?.[1]
  return mask !== undefined && isSet(mask, n)
}

/**
 * The restart signal is blocked in this process, so it would never reach the server.
 *
 * @remarks
 * On Node 22.14 and later `node --disable-sigusr1` blocks SIGUSR1 for good. Start node without that
 * flag, or set `restartSignal` to another signal.
 */
export interface SignalBlocked {
  /** Tags this error in {@link ServeError}. */
  readonly _tag: 'SignalBlocked'
  /** The blocked signal: the config's `restartSignal`. */
  readonly signal: NodeJS.Signals
}

export const describeSignalBlocked = (e: SignalBlocked): string =>
  `restartSignal ${e.signal} is blocked in this process, so it would never reach the server${
    e.signal === 'SIGUSR1' ? ' (node was started with --disable-sigusr1, which on Node 22.14 and later blocks SIGUSR1 for good)' : ''
  }: start node without that, or set restartSignal to another signal`
