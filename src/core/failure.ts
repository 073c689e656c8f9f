/**
 * How a process a server started (a successor, a worker) can fail, in words and as log fields: shared by
 * the lifecycle and the supervisor. Pure.
 */

/**
 * How a process the server started (a successor, a worker) failed: it could not be started; it exited
 * (`code`, or killed by `signal`) or timed out before it was ready; or it died after it was ready.
 */
export type ChildFailure =
  /** The process could not be started (`message`: the system's error). */
  | { readonly _tag: 'SpawnFailed'; readonly message: string }
  /** `reason`: what the child said on its channel before it exited, if anything. */
  | { readonly _tag: 'Exited'; readonly code: number | null; readonly signal: string | null; readonly reason: string | null }
  /** `reason`: what the child last said it was waiting for, if anything. */
  | { readonly _tag: 'TimedOut'; readonly afterMs: number; readonly reason: string | null }
  /** It exited (or was killed) after it was ready, while on probation or serving. */
  | { readonly _tag: 'CrashedAfterReady'; readonly code: number | null; readonly signal: string | null }

/** A log line's fields besides its name and message: each a string, a number, a boolean or null. */
export type Fields = Readonly<Record<string, string | number | boolean | null>>

const ended = (code: number | null, signal: string | null): string => (signal !== null ? `was killed by ${signal}` : `exited with code ${String(code)}`)

/** What happened, as the end of a sentence about the child ("the successor ..."). */
export const describeFailure = (f: ChildFailure): string => {
  switch (f._tag) {
    case 'SpawnFailed':
      return `could not be started: ${f.message}`
    case 'Exited': {
      const how = `${ended(f.code, f.signal)} before it was ready`
      return f.reason !== null ? `${how} (${f.reason})` : how
    }
    case 'TimedOut':
      return f.reason !== null ? `was not ready within ${f.afterMs} ms (${f.reason})` : `was not ready within ${f.afterMs} ms`
    case 'CrashedAfterReady':
      return `${ended(f.code, f.signal)} after it was ready`
  }
}

export const failureFields = (f: ChildFailure): Fields => {
  switch (f._tag) {
    case 'SpawnFailed':
      return { failure: 'spawn-failed', error: f.message }
    case 'Exited':
      return { failure: 'exited', exitCode: f.code, signal: f.signal, ...(f.reason !== null ? { reason: f.reason } : {}) }
    case 'TimedOut':
      return { failure: 'timed-out', timeoutMs: f.afterMs, ...(f.reason !== null ? { reason: f.reason } : {}) }
    case 'CrashedAfterReady':
      return { failure: 'crashed-after-ready', exitCode: f.code, signal: f.signal }
  }
}

/**
 * The signals a new process is killed by only while Node itself boots, before any JavaScript runs: from
 * the preload (src/preload.ts) on, the library listens for them. Node resets every signal's action at
 * start, so nothing can keep them off before that (docs/ARCHITECTURE.md, "Signals while a process starts").
 */
export const BOOT_SIGNALS: readonly string[] = ['SIGHUP', 'SIGUSR1', 'SIGUSR2']

/** A new process killed by one of BOOT_SIGNALS before it said anything: its start was cut short by a stray signal, not by its code. */
export const killedWhileBooting = (f: ChildFailure): boolean => f._tag === 'Exited' && f.signal !== null && BOOT_SIGNALS.includes(f.signal) && f.reason === null

/** How many new processes one restart starts again after such a signal killed them. */
export const MAX_BOOT_RESPAWNS = 3
