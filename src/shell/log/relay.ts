/**
 * A worker's output, passed on by its supervisor. When the supervisor's stdout or stderr can only be
 * written through the description it shares with other processes (a socket: journald's stdout; see
 * Target.shared in destination.ts), workers that shared it too would make the supervisor's writes block:
 * each subprocess a worker starts with that stdout clears O_NONBLOCK before exec, and each Node process
 * restores at exit what it found at start. So each worker gets a socket pair of its own there instead, and
 * the supervisor writes what it prints, line by line, through its own destination for that output
 * (bounded, never blocking, dropping whole lines when its reader does not read). The supervisor reads
 * at once whatever a worker prints, so a worker never waits on a reader that stopped.
 * docs/ARCHITECTURE.md, "A log reader that stops reading".
 */
import type { Readable } from 'node:stream'
import { safeDestination, sharedOutput } from './destination'

/** A line longer than this (a binary dump, output without newlines) is passed on in pieces of this size, each ended with a newline. */
export const MAX_LINE = 64 * 1024

const NEWLINE = Buffer.from('\n')

/**
 * Writes each line read from `input` to `out`, whole (newline included); resolves once `input` has
 * closed, after a last line without a newline has been given one.
 */
export const relayLines = (input: Readable, out: (line: Uint8Array) => void, max: number = MAX_LINE): Promise<void> => {
  let rest: Buffer = Buffer.alloc(0)
  const take = (data: Buffer): Buffer => {
    let start = 0
    for (;;) {
      const nl = data.indexOf(10, start)
      if (nl !== -1 && nl - start <= max) {
        out(data.subarray(start, nl + 1))
        start = nl + 1
      } else if (data.length - start > max) {
        out(Buffer.concat([data.subarray(start, start + max), NEWLINE]))
        start += max
      } else return data.subarray(start)
    }
  }
  return new Promise((resolve) => {
    input.on('data', (chunk: Buffer) => {
      rest = take(rest.length > 0 ? Buffer.concat([rest, chunk]) : chunk)
    })
    input.on('error', () => undefined) // the worker died: its exit reports it, and 'close' follows
    input.once('close', () => {
      if (rest.length > 0) out(Buffer.concat([rest, NEWLINE]))
      rest = Buffer.alloc(0)
      resolve()
    })
  })
}

/** Where a supervisor's workers' stdout and stderr lines go: its own destination for each output it can only write through a shared description (workers inherit the others). */
export const workerOutput = (): { readonly stdout?: (line: Uint8Array) => void; readonly stderr?: (line: Uint8Array) => void } => {
  const through = (fd: number, name: string): { readonly write?: (line: Uint8Array) => void } => (sharedOutput(fd) ? { write: safeDestination({ fd, name }).write } : {})
  const stdout = through(1, 'stdout').write
  const stderr = through(2, 'stderr').write
  return { ...(stdout !== undefined ? { stdout } : {}), ...(stderr !== undefined ? { stderr } : {}) }
}

/** Resolves once every output in `outputs` has ended, or after `ms`, whichever comes first. */
export const outputsEnded = async (outputs: Iterable<Promise<void>>, ms: number): Promise<void> => {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([Promise.all(outputs), new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))])
  clearTimeout(timer)
}

const GONE = new Set(['EPIPE', 'ECONNRESET', 'ERR_STREAM_DESTROYED'])

/**
 * In a worker whose stdout or stderr its supervisor passes on: once the supervisor is gone, a write
 * there fails (EPIPE), and Node would end the process for it while it drains. Those failures are
 * ignored; the library's log goes on to the server's own stdout (DestinationOptions.fallbackFd).
 */
export const outliveTheRelay = (output: { readonly stdout: boolean; readonly stderr: boolean }): void => {
  const ignoreGone = (err: NodeJS.ErrnoException): void => {
    if (!GONE.has(err.code ?? '')) throw err
  }
  if (output.stdout) process.stdout.on('error', ignoreGone)
  if (output.stderr) process.stderr.on('error', ignoreGone)
}
