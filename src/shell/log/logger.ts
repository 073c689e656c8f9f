/**
 * Logger: pino writing JSON lines to stdout or `logPath`. The destination is opened at start-up, so a
 * log file that cannot be written is refused before anything else; pino itself is loaded on the first
 * line actually written (see lazy.ts), which for a successor comes after it has reported ready. Writes
 * are synchronous, so every line, the last one before exit included, is out before the process ends,
 * and a line that cannot be written is dropped rather than thrown (see destination.ts).
 * Every line carries `pid` and `generation`.
 */
import * as fs from 'node:fs'
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import type { Logger } from 'pino'
import type { LogLevel } from '../../core/config'
import { fileProblem, toErrno } from '../os/errno'
import { loadPino, once } from '../os/lazy'
import { safeDestination } from './destination'

export type { Logger }

export interface LogError {
  readonly _tag: 'LogUnwritable'
  readonly path: string
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

export interface LoggerOptions {
  readonly level: LogLevel
  readonly logPath: O.Option<string>
  readonly generation: number
}

// pino's numeric levels, to skip a disabled line without loading pino
const LEVELS: Readonly<Record<LogLevel, number>> = { trace: 10, debug: 20, info: 30, warn: 40, error: 50, fatal: 60, silent: Infinity }

const fromPino = (level: LogLevel, get: () => Logger): Log => {
  const at =
    (l: Exclude<LogLevel, 'silent' | 'trace'>): Write =>
    (fields, message) => {
      if (LEVELS[l] >= LEVELS[level]) get()[l](fields, message)
    }
  return {
    debug: at('debug'),
    info: at('info'),
    warn: at('warn'),
    error: at('error'),
    fatal: at('fatal'),
    child: (bindings) => fromPino(level, once(() => get().child(bindings))),
    pino: get,
  }
}

export const openLog = (o: LoggerOptions): E.Either<LogError, Log> =>
  E.bimap(
    (err: NodeJS.ErrnoException): LogError => ({
      _tag: 'LogUnwritable',
      path: O.getOrElse(() => 'stdout')(o.logPath),
      reason: fileProblem(O.getOrElse(() => 'stdout')(o.logPath), err, 'logPath'),
    }),
    (fd: number) =>
      fromPino(
        o.level,
        once(() => {
          const { pino } = loadPino()
          const base = { pid: process.pid, generation: o.generation }
          const destination = safeDestination({
            fd,
            name: O.getOrElse(() => 'stdout')(o.logPath),
            lostLine: (dropped) =>
              `${JSON.stringify({ level: 40, time: Date.now(), ...base, event: 'log-lines-dropped', dropped, msg: `${dropped} log line(s) could not be written and were dropped` })}\n`,
          })
          return pino({ level: o.level, base }, destination)
        }),
      ),
  )(E.tryCatch(() => (O.isSome(o.logPath) ? fs.openSync(o.logPath.value, 'a', 0o644) : 1), toErrno))
