/**
 * Log destination: writes each line synchronously, whole, to a file descriptor, and never throws. A
 * line that cannot be written (the terminal that started the server has closed: EIO; a full disk:
 * ENOSPC; a reader that went away: EPIPE) is dropped, since a server must not die, nor a restart fail,
 * because of its log (pino's own destination re-throws every error but EPIPE). The first drop is said
 * once, on stderr; once lines get through again, a line says how many were lost.
 */
import fs = require('node:fs')
import { type Errno, messageOf } from '../os/errno'

export interface Destination {
  readonly write: (line: string) => void
}

/** How long a full pipe or terminal (EAGAIN) may hold a line before it is dropped. */
const FULL_WAIT_MS = 1000
const pause = new Int32Array(new SharedArrayBuffer(4))

const writeAll = (fd: number, line: string): void => {
  const bytes = Buffer.from(line)
  let written = 0
  let waited = 0
  while (written < bytes.length) {
    try {
      written += fs.writeSync(fd, bytes, written)
    } catch (err) {
      if ((err as Errno).code !== 'EAGAIN' || waited >= FULL_WAIT_MS) throw err
      Atomics.wait(pause, 0, 0, 1) // a non-blocking fd that is full: wait a little, synchronously
      waited += 1
    }
  }
}

export interface DestinationOptions {
  readonly fd: number
  /** What the fd is, for the notice: a path, or "stdout". */
  readonly name: string
  /** The line that reports `dropped` lost lines, written before the next line that gets through. */
  readonly lostLine: (dropped: number) => string
}

export const safeDestination = (o: DestinationOptions): Destination => {
  let dropped = 0
  let told = false
  return {
    write: (line) => {
      try {
        if (dropped > 0) {
          writeAll(o.fd, o.lostLine(dropped))
          dropped = 0
        }
        writeAll(o.fd, line)
      } catch (err) {
        dropped += 1
        if (told) return
        told = true
        try {
          fs.writeSync(2, `uninterruptible: cannot write to the log (${o.name}): ${messageOf(err)}; dropping log lines until it works again\n`)
        } catch {
          // stderr is gone too (often the same terminal): nobody can be told
        }
      }
    },
  }
}
