/**
 * Log destination: writes each line whole and in order, never blocks the event loop, and never throws.
 *
 * A reader that stops reading (a `| cat` that is stopped, a hung `| tee`, a journal that does not keep
 * up) fills the pipe or socket, and a blocking write would then hold the process for as long as the
 * reader does: a supervisor would stop answering, restarting and respawning. So the destination writes
 * to a non-blocking file description (see openTarget), keeps what the reader has not taken yet in
 * a queue of at most QUEUE_BYTES, retries on a timer, and drops whole lines past that. A line that
 * cannot be written at all (the terminal that started the server has closed: EIO; a full disk: ENOSPC;
 * a reader that went away: EPIPE) is dropped too, since a server must not die, nor a restart fail,
 * because of its log (pino's own destination re-throws every error but EPIPE). The first drop is said
 * once, on stderr; once lines get through again, a line says how many were lost. At exit, what is
 * still queued gets up to EXIT_WAIT_MS to go out, so the last line is not lost when the reader reads.
 */
import fs = require('node:fs')
import { type Errno, messageOf } from '../os/errno'

export interface Destination {
  /** Queues a whole line (or lines), ending with a newline. */
  readonly write: (line: string | Uint8Array) => void
  /** Writes what is queued, waiting up to `budgetMs` for the reader; at exit. */
  readonly drainSync: (budgetMs: number) => void
}

/** What the reader may leave unread before lines are dropped (the pipe or socket buffer comes on top). */
export const QUEUE_BYTES = 256 * 1024
/** At exit, how long a reader that does not read may hold the process. */
export const EXIT_WAIT_MS = 1000
const RETRY_FIRST_MS = 5
const RETRY_MAX_MS = 500

/** Writes what it can of `bytes` from `offset` without blocking: how many bytes went (0: none fit now); throws what cannot be written at all. */
export type Sink = (bytes: Buffer, offset: number) => number

export interface QueueOptions {
  readonly sink: Sink
  /** The line that reports `dropped` lost lines, the last at `at` (ms), written where they were lost. */
  readonly lostLine: (dropped: number, at: number) => string
  /** Told why lines are being dropped, the first time only. */
  readonly notice: (reason: string) => void
  /** Runs `f` in `ms` (a timer that does not hold the process). */
  readonly later: (f: () => void, ms: number) => void
  /** Sleeps `ms` synchronously (at exit only). */
  readonly sleep: (ms: number) => void
  readonly limit: number
}

/** A queued line; `lost` > 0 for the line that reports that many lost lines (`ends`: after a newline that ends a cut line). */
interface Entry {
  readonly bytes: Buffer
  readonly lost: number
  readonly ends?: boolean
}

/** The queue behind a non-blocking sink: whole lines, in order, at most `limit` bytes waiting. */
export const lineQueue = (o: QueueOptions): Destination => {
  const queue: Entry[] = []
  let offset = 0 // bytes of queue[0] already written
  let waiting = 0 // bytes queued and not yet written
  let dropped = 0
  let droppedAt = 0 // when the last line was lost: the time of the line that says so, which keeps times in order
  let told = false
  let retryMs = 0 // 0: no retry scheduled
  let cut = false // a line was cut by a failed write: end it before the next one

  const drop = (lines: number, reason: string): void => {
    dropped += lines
    droppedAt = Date.now()
    if (told) return
    told = true
    o.notice(reason)
  }

  /** Writes what the sink takes; true when nothing is left. */
  const flush = (): boolean => {
    for (let head = queue[0]; head !== undefined; head = queue[0]) {
      if (offset >= head.bytes.length) {
        queue.shift()
        offset = 0
        continue
      }
      let n: number
      try {
        n = o.sink(head.bytes, offset)
      } catch (err) {
        // the destination is broken, not slow: everything waiting is lost
        const lines = queue.reduce((sum, e) => sum + (e.lost > 0 ? e.lost : 1), 0)
        cut = offset > 0 ? head.bytes[offset - 1] !== 10 : head.ends === true // a cut line is still to be ended
        queue.length = 0
        offset = 0
        waiting = 0
        drop(lines, messageOf(err))
        return true
      }
      if (n <= 0) return false
      offset += n
      waiting -= n
    }
    return true
  }

  /** Queues the line that says how many were lost, where they were lost. */
  const sayLost = (): void => {
    const lost = Buffer.from(`${cut ? '\n' : ''}${o.lostLine(dropped, droppedAt)}`)
    queue.push({ bytes: lost, lost: dropped, ends: cut })
    cut = false
    waiting += lost.length
    dropped = 0
  }

  const retry = (): void => {
    const before = waiting
    let done = flush()
    if (done && dropped > 0) {
      // the reader has taken everything: say what was lost now rather than with the next line
      sayLost()
      done = flush()
    }
    if (done) {
      retryMs = 0
      return
    }
    // wait longer while the reader takes nothing, and go back to short waits once it takes some
    retryMs = waiting < before ? RETRY_FIRST_MS : Math.min(retryMs * 2, RETRY_MAX_MS)
    o.later(retry, retryMs)
  }

  const push = (line: string | Uint8Array): void => {
    const bytes = Buffer.from(line) // of bytes, a copy: the caller's may change
    if (waiting > 0 && waiting + bytes.length > o.limit) {
      drop(1, `${waiting} bytes of log lines wait for a reader that does not read`)
      return
    }
    if (dropped > 0) sayLost()
    queue.push({ bytes, lost: 0 })
    waiting += bytes.length
  }

  return {
    write: (line) => {
      push(line)
      if (retryMs > 0 || flush()) return
      retryMs = RETRY_FIRST_MS
      o.later(retry, retryMs)
    },
    drainSync: (budgetMs) => {
      let said = false
      for (let slept = 0; ; ) {
        if (flush()) {
          if (dropped === 0 || said) return
          said = true
          sayLost() // and write it, if the reader takes it
        } else if (slept >= budgetMs) return
        else {
          o.sleep(1)
          slept += 1
        }
      }
    },
  }
}

const pause = new Int32Array(new SharedArrayBuffer(4))

/** Writes to `fd`; a full pipe, socket or terminal (EAGAIN on a non-blocking description) takes nothing now. */
const fdSink =
  (fd: number): Sink =>
  (bytes, offset) => {
    try {
      return fs.writeSync(fd, bytes, offset)
    } catch (err) {
      if ((err as Errno).code === 'EAGAIN') return 0
      throw err
    }
  }

/** A file descriptor to write the log to, and what to do before each write so that it does not block. */
export interface Target {
  readonly fd: number
  /** Opened here, a description of its own (a destination keeps it until the process exits). */
  readonly own: boolean
  /**
   * Written through the description it shares with other processes, made non-blocking before each
   * write: a process that clears O_NONBLOCK between the two (a child started with this stdout clears it
   * before exec; Node at exit restores what it found at start) makes that write block while the reader
   * does not read. A supervisor therefore gives its workers output of their own (see relay.ts).
   */
  readonly shared: boolean
  readonly beforeWrite: () => void
}

interface StreamHandle {
  readonly setBlocking?: (blocking: boolean) => number
}

/**
 * Node's own handle on stdout or stderr (a pipe or socket there gets one, which sets O_NONBLOCK, as
 * soon as process.stdout or process.stderr is first used), to set O_NONBLOCK again (FIONBIO) on the
 * description it shares with other processes. Null when Node has no such handle (a terminal, a file).
 */
const sharedHandle = (fd: number): StreamHandle | null => {
  const stream = fd === 1 ? process.stdout : fd === 2 ? process.stderr : null
  const handle = (stream as unknown as { readonly _handle?: StreamHandle | null } | null)?._handle
  return typeof handle?.setBlocking === 'function' ? handle : null
}

const nothing = (): void => undefined

/**
 * Where to write what `fd` gets, without ever blocking. O_NONBLOCK belongs to the open file
 * description, which `fd` shares with every process that holds the same stdout (workers, successors,
 * the shell, other programs), so it is not set on `fd` itself where that can be avoided:
 * - a regular file or block device: `fd` itself (a disk does not wait for a reader; O_NONBLOCK does
 *   nothing there, and opening it again would lose a shared offset);
 * - a pipe, FIFO, terminal or other device: `/proc/self/fd/N` opened again: a new description of the
 *   same pipe or terminal, with O_NONBLOCK of its own (libuv opens terminals again the same way);
 * - a socket (journald's stdout, a socket pair) cannot be opened again (ENXIO), nor can a pipe of
 *   another user: stdout or stderr itself, made non-blocking as Node makes it once process.stdout is
 *   used (the other holders see it, as they do with any Node program that writes to its stdout), and
 *   made so again before every write, because every child started with the same stdout clears it
 *   (libuv does so in the child before exec). A terminal of another user stays blocking (setting
 *   O_NONBLOCK on it would break the shell that shares it).
 */
export const openTarget = (fd: number): Target => {
  let stat: fs.Stats
  try {
    stat = fs.fstatSync(fd)
  } catch {
    return { fd, own: false, shared: false, beforeWrite: nothing } // not open: every write fails, and is dropped
  }
  if (stat.isFile() || stat.isBlockDevice()) return { fd, own: false, shared: false, beforeWrite: nothing }
  try {
    const { O_WRONLY, O_NONBLOCK, O_NOCTTY } = fs.constants
    return { fd: fs.openSync(`/proc/self/fd/${fd}`, O_WRONLY | O_NONBLOCK | O_NOCTTY), own: true, shared: false, beforeWrite: nothing }
  } catch {
    const handle = stat.isSocket() || stat.isFIFO() ? sharedHandle(fd) : null
    if (handle === null) return { fd, own: false, shared: false, beforeWrite: nothing }
    return { fd, own: false, shared: true, beforeWrite: () => handle.setBlocking?.(false) }
  }
}

export interface DestinationOptions {
  readonly fd: number
  /** What the fd is, for the notice: a path, or "stdout". */
  readonly name: string
  /** The line that reports `dropped` lost lines, the last at `at` (ms), written where they were lost (else a line of text says it). */
  readonly lostLine?: (dropped: number, at: number) => string
  /** Written to from the first write that fails for good on `fd` (a worker's stdout whose supervisor is gone: the server's own stdout). */
  readonly fallbackFd?: number
}

/** Says on stderr, without waiting for it, that log lines are dropped. */
const tellStderr = (text: string): void => {
  const err = openTarget(2)
  try {
    err.beforeWrite()
    fdSink(err.fd)(Buffer.from(text), 0)
  } catch {
    // stderr is gone too (often the same terminal): nobody can be told
  } finally {
    if (err.own) fs.closeSync(err.fd)
  }
}

const textLostLine = (dropped: number): string => `uninterruptible: ${dropped} line(s) of output could not be written and were dropped\n`

/** What `fd` is open on: stdout and stderr on the same socket, pipe or terminal are one output. */
const outputOf = (fd: number): string => {
  try {
    const st = fs.fstatSync(fd)
    return st.isFile() || st.isBlockDevice() ? `fd ${fd}` : `${st.dev}:${st.ino}`
  } catch {
    return `fd ${fd}`
  }
}

interface Opened {
  readonly destination: Destination
  lostLine: (dropped: number, at: number) => string
  /** Writes to the fallback from now on, if there is one. */
  readonly fallBack: () => void
}

/** This process's destinations, one per output: two queues on one socket would cut each other's lines. */
const opened = new Map<string, Opened>()

/**
 * The destination for `o.fd`, drained at this process's exit: one per output, shared by whoever writes
 * there (the log, a supervisor's relay of its workers' output; see relay.ts). The log's `lostLine`, when
 * given, replaces the line of text that reports lost lines.
 */
export const safeDestination = (o: DestinationOptions): Destination => {
  const key = outputOf(o.fd)
  const known = opened.get(key)
  if (known !== undefined) {
    if (o.lostLine !== undefined) known.lostLine = o.lostLine
    return known.destination
  }
  let target = openTarget(o.fd)
  let write = fdSink(target.fd)
  let fallback = o.fallbackFd
  const fallBack = (): boolean => {
    if (fallback === undefined) return false
    target = openTarget(fallback)
    write = fdSink(target.fd)
    fallback = undefined
    return true
  }
  const destination = lineQueue({
    sink: (bytes, offset) => {
      try {
        target.beforeWrite()
        return write(bytes, offset)
      } catch (err) {
        if (!fallBack()) throw err
        // on from where this line was (a line cut by the failure stays cut)
        target.beforeWrite()
        return write(bytes, offset)
      }
    },
    lostLine: (dropped, at) => entry.lostLine(dropped, at),
    notice: (reason) => tellStderr(`uninterruptible: cannot write to the log (${o.name}): ${reason}; dropping log lines until it works again\n`),
    later: (f, ms) => setTimeout(f, ms).unref(),
    sleep: (ms) => Atomics.wait(pause, 0, 0, ms),
    limit: QUEUE_BYTES,
  })
  const entry: Opened = { destination, lostLine: o.lostLine ?? textLostLine, fallBack: () => void fallBack() }
  opened.set(key, entry)
  process.once('exit', () => destination.drainSync(EXIT_WAIT_MS))
  return destination
}

/** Whether what is written to `fd` can only go through the description it shares with other processes (see Target.shared). */
export const sharedOutput = (fd: number): boolean => {
  const target = openTarget(fd)
  if (target.own) fs.closeSync(target.fd)
  return target.shared
}

/**
 * The supervisor that passed this worker's output on is gone: its destinations write to their
 * fallbacks from now on, without waiting for a write to fail (what reaches a supervisor's socket as it
 * dies is never read).
 */
export const fallBackNow = (): void => {
  for (const o of opened.values()) o.fallBack()
}
