/**
 * Logger: pino writing JSON lines to stdout or `logPath`. Writes are synchronous so that every line,
 * including the last one before exit, is out before the process ends; the library logs lifecycle
 * events only, never per request. Every line carries `pid` and `generation`.
 */
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import { type Logger, pino } from 'pino'
import type { LogLevel } from '../core/config'
import { fileProblem, toErrno } from './errno'

export type { Logger }

export interface LogError {
  readonly _tag: 'LogUnwritable'
  readonly path: string
  readonly reason: string
}

export const describeLogError = (e: LogError): string => `cannot open the log file ${e.path}: ${e.reason}`

export interface LoggerOptions {
  readonly level: LogLevel
  readonly logPath: O.Option<string>
  readonly generation: number
}

export const createLogger = (o: LoggerOptions): E.Either<LogError, Logger> =>
  E.tryCatch(
    () => {
      const destination = O.isSome(o.logPath)
        ? pino.destination({ dest: o.logPath.value, sync: true, append: true, mkdir: false })
        : pino.destination({ dest: 1, sync: true })
      return pino({ level: o.level, base: { pid: process.pid, generation: o.generation } }, destination)
    },
    (err) => ({
      _tag: 'LogUnwritable' as const,
      path: O.getOrElse(() => 'stdout')(o.logPath),
      reason: fileProblem(O.getOrElse(() => 'stdout')(o.logPath), toErrno(err), 'logPath'),
    }),
  )
