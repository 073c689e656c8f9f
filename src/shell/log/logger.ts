/**
 * Logger: pino writing JSON lines to stdout or `logPath`. The destination is opened at start-up, so a
 * log file that cannot be written is refused before anything else; pino itself is loaded on the first
 * line actually written (see lazy.ts), which for a successor comes after it has reported ready. Each
 * line is written at once and never waits for the reader: what the reader has not taken waits, bounded,
 * and is written before the process exits if the reader takes it; a line that cannot be written is
 * dropped rather than thrown (see destination.ts).
 * Every line carries `pid` and `generation` (and a worker's slot as `worker`).
 */
import fs = require('node:fs')
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import type { Logger, LoggerOptions as PinoOptions } from 'pino'
import type { LogLevel } from '../../core/config'
import { fileProblem, toErrno } from '../os/errno'
import { loadPino, once } from '../os/lazy'
import { safeDestination } from './destination'

export type { Logger }

/**
 * The log file cannot be opened for appending; it is checked at start, before anything else.
 *
 * @remarks
 * Fix `logPath`, or the permissions of the file or its folder, and start again.
 */
export interface LogError {
  /** Tags this error in {@link ServeError}. */
  readonly _tag: 'LogUnwritable'
  /** The log file's path. */
  readonly path: string
  /** Why it cannot be opened. */
  readonly reason: string
}

export const describeLogError = (e: LogError): string => `cannot open the log file ${e.path}: ${e.reason}`

type Write = (fields: Readonly<Record<string, unknown>>, message: string) => void

/** What the library logs with: structured fields and a message, per level. */
export interface Log {
  readonly debug: Write
  readonly info: Write
  readonly warn: Write
  readonly error: Write
  readonly fatal: Write
  readonly child: (bindings: Readonly<Record<string, unknown>>) => Log
  /** The pino logger itself. */
  readonly pino: () => Logger
}

export interface OpenLogOptions {
  readonly level: LogLevel
  readonly logPath: O.Option<string>
  /** Fields on every line besides pid: the generation, and a worker's slot. */
  readonly bindings: Readonly<Record<string, unknown>>
  /** The application's own logger, or pino options for ours (see ServeOptions.logger). */
  readonly given?: Logger | PinoOptions
  /** Where lines for stdout go once stdout fails for good: a worker's supervisor, which passed its output on, is gone (see relay.ts). */
  readonly stdoutFallback: O.Option<number>
}

// pino's numeric levels, to skip a disabled line without loading pino
const LEVELS: Readonly<Record<LogLevel, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity }

type Level = Exclude<LogLevel, 'silent' | 'trace'>

const fromPino = (enabled: (l: Level) => boolean, get: () => Logger): Log => {
  const at =
    (l: Level): Write =>
    (fields, message) => {
      if (enabled(l)) get()[l](fields, message)
    }
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: (bindings) => fromPino(enabled, once(() => get().child(bindings))),
    pino: get,
  }
}

const isLogger = (u: Logger | PinoOptions): u is Logger => typeof (u as Partial<Logger>).child === 'function' && typeof (u as Partial<Logger>).info === 'function'

export const openLog = (o: OpenLogOptions): E.Either<LogError, Log> => {
  const { given } = o
  if (given !== undefined && isLogger(given)) {
    // every line says which process wrote it: pid too, unless the application's logger has it already
    const hasPid = (): boolean => String((given as unknown as Record<symbol, unknown>)[loadPino().symbols.chindingsSym]).includes('"pid":')
    const child = once(() => given.child(hasPid() ? o.bindings : { pid: process.pid, ...o.bindings }))
    return E.right(fromPino((l) => given.isLevelEnabled(l), child))
  }
  const options: PinoOptions = given ?? {}
  const level = (options.level as LogLevel | undefined) ?? o.level
  const target = O.getOrElse(() => 'stdout')(o.logPath)
  return E.bimap(
    (err: NodeJS.ErrnoException): LogError => ({
      _tag: 'LogUnwritable',
      path: target,
      reason: fileProblem(target, err, 'logPath'),
    }),
    (fd: number) =>
      fromPino(
        (l) => LEVELS[l] >= (LEVELS[level] as number | undefined ?? LEVELS.info),
        once(() => {
          const { pino } = loadPino()
          const base = { pid: process.pid, ...o.bindings, ...options.base }
          const destination = safeDestination({
            fd,
            name: target,
            ...(O.isNone(o.logPath) && O.isSome(o.stdoutFallback) ? { fallbackFd: o.stdoutFallback.value } : {}),
            lostLine: (dropped, at) =>
              `${JSON.stringify({ level: 40, time: at, ...base, event: 'log-lines-dropped', dropped, msg: `${dropped} log line(s) could not be written and were dropped` })}\n`,
          })
          return pino({ ...options, level, base }, destination)
        }),
      ),
  )(E.tryCatch(() => (O.isSome(o.logPath) ? fs.openSync(o.logPath.value, 'a', 0o644) : 1), toErrno))
}
