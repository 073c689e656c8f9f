/**
 * What every mode does first, and last: read and decode the config, read what a parent passed down,
 * open the log; and, for `serve`, end the process with the code the server stopped with.
 */
import path = require('node:path')
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as TE from 'fp-ts/TaskEither'
import { type Config, decodeConfig } from '../core/config'
import { type Inherited, readInherited } from '../core/wire/inherit'
import { STOP_SIGNALS } from '../core/signal'
import type { ServeError } from './errors'
import type { ConfigSourceError } from '../shell/configSource'
import { makeHooks, type Hooks } from '../shell/hooks'
import { type Log, openLog } from '../shell/log/logger'
import { outliveTheRelay } from '../shell/log/relay'
import { type Activation, readActivation } from '../shell/listener/activation'
import { loadTlsSettings, type TlsSettings } from '../shell/protocol/tls'
import { activationEnv, inheritedEnv } from '../shell/os/boot'
import { isBlocked } from '../shell/os/sigmask'
import * as signals from '../shell/os/signals'
import type { ServeOptions, ServerInfo } from '../shell/options'
import { prepared } from './current'

/** What `serveTask` and `serveHttpTask` complete with once this process has stopped serving. */
export interface Stopped {
  /** The exit code this process should end with: 0 after a drain, 128+n after a second stop signal. */
  readonly code: number
}

export interface Prepared {
  readonly config: Config
  readonly inherited: O.Option<Inherited>
  readonly generation: number
  readonly info: ServerInfo
  readonly log: Log
  readonly hooks: Hooks
  /** Absolute pidfile path, if any. */
  readonly pidfile: O.Option<string>
  /** Whether the process exits when the server stops (`serve`), or goes on (`serveTask`). */
  readonly exits: boolean
  /** Sockets systemd passed to the first generation, to adopt instead of binding. */
  readonly activation: O.Option<Activation>
  /** The certificate and key this generation read as it started. */
  readonly tls: O.Option<TlsSettings>
  /** When the config was read and checked, in ms from this process's start. */
  readonly preparedAtMs: number
}

/** `source`: the config's JSON as read (readConfigSource), not yet decoded. */
export const prepare = (source: TE.TaskEither<ConfigSourceError, unknown>, options: ServeOptions, exits: boolean): TE.TaskEither<ServeError, Prepared> =>
  pipe(
    TE.Do,
    TE.tap(() => TE.fromIO(() => signals.listen(STOP_SIGNALS))),
    TE.bindW('json', () => source),
    TE.bindW('config', ({ json }) => TE.fromEither(decodeConfig(json, process.env))),
    TE.bindW('inherited', () => TE.fromEither(readInherited(inheritedEnv))),
    // a worker never acts on the restart signal; every other process must be able to get it
    TE.tap(({ config, inherited }) =>
      O.isSome(inherited) && inherited.value.role === 'worker'
        ? TE.right(undefined)
        : isBlocked(config.restartSignal)
          ? TE.left<ServeError>({ _tag: 'SignalBlocked', signal: config.restartSignal })
          : TE.right(undefined),
    ),
    TE.bindW('tls', ({ config }) => TE.fromEither(O.traverse(E.Applicative)(loadTlsSettings)(config.tls))),
    TE.let('generation', ({ inherited }) => (O.isSome(inherited) ? inherited.value.generation : 1)),
    TE.let('info', ({ config, inherited, generation }): ServerInfo => {
      if (O.isNone(inherited)) return { pid: process.pid, generation, mode: O.isSome(config.workers) ? 'supervisor' : 'standalone' }
      return { pid: process.pid, generation, ...(inherited.value.role === 'worker' ? { mode: 'worker', worker: inherited.value.slot } : { mode: 'standalone' }) }
    }),
    // a worker whose output its supervisor passes on (see shell/log/relay.ts): none for any other process
    TE.let('passed', ({ inherited }) => (O.isSome(inherited) && inherited.value.role === 'worker' ? inherited.value.output : { stdout: O.none, stderr: O.none })),
    TE.tap(({ passed }) => TE.fromIO(() => outliveTheRelay({ stdout: O.isSome(passed.stdout), stderr: O.isSome(passed.stderr) }))),
    TE.bindW('log', ({ config, info, passed }) =>
      TE.fromEither(
        openLog({
          level: config.logLevel,
          logPath: O.map((p: string) => path.resolve(p))(config.logPath),
          // a supervisor's lines say so; the generations are its workers'
          bindings: info.mode === 'supervisor' ? { supervisor: true } : { generation: info.generation, ...(info.worker !== undefined ? { worker: info.worker } : {}) },
          ...(options.logger !== undefined ? { given: options.logger } : {}),
          stdoutFallback: passed.stdout,
        }),
      ),
    ),
    TE.let('hooks', ({ info, log }) => makeHooks(options, info, log)),
    TE.let('pidfile', ({ config }) => O.map((p: string) => path.resolve(p))(config.pidfilePath)),
    TE.let('exits', () => exits),
    TE.let('preparedAtMs', () => performance.now()),
    TE.let('activation', ({ inherited }) => (O.isNone(inherited) ? readActivation(activationEnv, process.pid) : O.none)),
    TE.tap(({ info }) => TE.fromIO(() => prepared(info))),
    TE.tapError(() => TE.fromIO(() => signals.unlistenOwn())),
  )
