/**
 * serve: the composition. One TaskEither pipeline (read and decode the config, read the inheritance,
 * open the log, acquire the listener, write the pidfile, tell the parent we are ready) that ends in the
 * running lifecycle and completes when this process has stopped.
 */
import * as net from 'node:net'
import * as path from 'node:path'
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as T from 'fp-ts/Task'
import * as TE from 'fp-ts/TaskEither'
import { type Config, decodeConfig } from '../../core/config'
import { type Inherited, readInherited } from '../../core/inherit'
import { type Event, initial } from '../../core/lifecycle'
import { isRestartSignal, STOP_SIGNALS, type StopSignal } from '../../core/signal'
import { describeServeError, type ServeError } from '../../errors'
import { inheritedEnv } from '../../shell/os/boot'
import { type ConfigInput, readConfigSource } from '../../shell/configSource'
import { type Connections, trackConnections } from '../../shell/protocol/connections'
import { interpret } from './interpreter'
import { acquire, checkInherited, type Listener, removeOwnSocketFile } from '../../shell/listener/listener'
import { type Log, openLog } from '../../shell/log/logger'
import { removeOwnPidfile, writePidfile } from '../../shell/os/pidfile'
import type { Protocol } from '../../shell/protocol/protocol'
import { describeReadyError, signalReady } from '../../shell/os/readiness'
import { createRuntime, type Runtime } from '../../shell/runtime'
import * as signals from '../../shell/os/signals'
import { liveCapabilities } from './wiring'

export interface Stopped {
  /** The exit code this process should end with: 0 after a drain, 128+n after a second stop signal. */
  readonly code: number
}

interface Prepared {
  readonly config: Config
  readonly inherited: O.Option<Inherited>
  readonly generation: number
  readonly log: Log
  readonly pidfile: O.Option<string>
}

const prepare = (input: ConfigInput): TE.TaskEither<ServeError, Prepared> =>
  pipe(
    TE.Do,
    TE.tap(() => TE.fromIO(() => signals.listen(STOP_SIGNALS))),
    TE.bindW('json', () => readConfigSource(input)),
    TE.bindW('config', ({ json }) => TE.fromEither(decodeConfig(json, process.env))),
    TE.bindW('inherited', () => TE.fromEither(readInherited(inheritedEnv))),
    TE.let('generation', ({ inherited }) => (O.isSome(inherited) ? inherited.value.generation : 1)),
    TE.bindW('log', ({ config, generation }) =>
      TE.fromEither(openLog({ level: config.logLevel, logPath: O.map((p: string) => path.resolve(p))(config.logPath), generation })),
    ),
    TE.let('pidfile', ({ config }) => O.map((p: string) => path.resolve(p))(config.pidfilePath)),
  )

const writeOwnPidfile = (p: Prepared): TE.TaskEither<ServeError, void> =>
  O.isSome(p.pidfile) ? writePidfile(p.pidfile.value, process.pid) : TE.right(undefined)

/** Undoes a listener acquired by a start-up that then failed: the socket file goes only if it is ours. */
const release = (listener: Listener): T.Task<void> =>
  pipe(
    removeOwnSocketFile(listener),
    T.map(() => {
      listener.server.close()
    }),
  )

const toEvent = (config: Config, signal: NodeJS.Signals): O.Option<Event> =>
  (STOP_SIGNALS as readonly string[]).includes(signal)
    ? O.some({ _tag: 'StopRequested', signal: signal as StopSignal })
    : isRestartSignal(signal) && signal === config.restartSignal
      ? O.some({ _tag: 'RestartRequested', signal })
      : O.none

/** The signal listeners given back when `serve` is done (SIGUSR1's stays: with none, SIGUSR1 opens the inspector). */
const OWN_SIGNALS: readonly NodeJS.Signals[] = [...STOP_SIGNALS, 'SIGUSR2', 'SIGHUP']

/** Starts the lifecycle on an acquired listener; completes when the Exit effect has run. */
const run =
  (p: Prepared, listener: Listener, runtime: Runtime, protocol: Protocol, connections: Connections): T.Task<Stopped> =>
  () =>
    new Promise((resolve) => {
      const { log, config } = p
      listener.server.on('error', (err) => log.error({ event: 'accept-error', err }, `accepting a connection failed: ${err.message}`))
      const onSignal = (signal: NodeJS.Signals): void =>
        O.match(
          () => log.warn({ event: 'signal-ignored', signal }, `${signal} ignored: the restart signal is ${config.restartSignal}`),
          (event: Event) => runtime.dispatch(event),
        )(toEvent(config, signal))
      const delivery = signals.take(onSignal)
      // an empty event loop mid-drain means no open connection can ever close by itself
      const onBeforeExit = (): void => runtime.dispatch(STALLED)
      process.on('beforeExit', onBeforeExit)
      const exec = interpret(
        liveCapabilities({
          ...p,
          listener,
          dispatch: runtime.dispatch,
          connections,
          protocol,
          onExit: (code) => {
            delivery.release()
            process.removeListener('beforeExit', onBeforeExit)
            signals.unlisten(OWN_SIGNALS)
            resolve({ code })
          },
        }),
      )
      runtime.start(async (effect) => {
        const r = await exec(effect)()
        if (E.isLeft(r)) log.error({ event: 'effect-failed', effect: r.left.effect }, `${r.left.effect} failed: ${r.left.message}`)
      })
      // Queued signals arrived before the pidfile named this process (see settleSignals): a restart
      // signal then was not meant for it, a stop was (a successor with one never gets this far).
      for (const signal of delivery.queued) {
        if (signal === config.restartSignal) log.warn({ event: 'restart-ignored', signal }, `${signal} ignored: it arrived while this process was starting`)
        else onSignal(signal)
      }
      const ready = O.isSome(p.inherited) ? O.some(signalReady(p.inherited.value.readyFd)) : O.none
      // after the ready byte: the first line written loads the logging library, off the handoff's critical path
      log.info(
        { event: 'listening', bind: listener.address, inherited: listener.inherited, ...(O.isSome(p.inherited) ? { parentPid: p.inherited.value.parentPid } : {}) },
        `listening on ${listener.address} (${listener.inherited ? 'inherited socket' : 'bound'})`,
      )
      if (O.isSome(ready) && E.isLeft(ready.value)) {
        log.warn({ event: 'ready-unsent', error: ready.value.left.reason }, describeReadyError(ready.value.left))
      }
      protocol.started()
    })

// events are plain immutable data: one object each serves every connection
const OPENED: Event = { _tag: 'ConnectionOpened' }
const CLOSED: Event = { _tag: 'ConnectionClosed' }
const STALLED: Event = { _tag: 'DrainStalled' }

/** Builds the protocol once the config is known and the log is open. */
export type MakeProtocol = (log: Log, config: Config) => Protocol

type Go = (listener: Listener) => T.Task<Stopped>

/**
 * One turn of the event loop, taken just before the pidfile is written. A signal is handed to JavaScript
 * only in the poll phase; this turn makes sure every signal that reached the process before its pidfile
 * named it is in our queue, and nothing sent after is. From the pidfile on, signals are acted on (so
 * `kill -USR1 $(cat pidfile)` always works); restart signals from before are ignored, and a successor
 * with a stop from before does not take over.
 */
const settleSignals: TE.TaskEither<never, void> = TE.fromTask(() => new Promise<void>((resolve) => setImmediate(resolve)))

/** The first generation binds, then writes the pidfile; if that fails, the bind is undone. */
const startFirst = (p: Prepared, server: net.Server, go: Go): TE.TaskEither<ServeError, Stopped> =>
  pipe(
    acquire(server, {
      bind: p.config.bind,
      inherited: O.none,
      socketMode: p.config.socketMode,
      onStale: () => p.log.warn({ event: 'stale-socket' }, 'replacing a stale socket file nobody answers on'),
    }),
    TE.tap(() => settleSignals),
    TE.tap((listener) => pipe(writeOwnPidfile(p), TE.orElseFirstTaskK(() => release(listener)))),
    TE.flatMapTask(go),
  )

/**
 * A successor checks its socket and writes the pidfile before it listens: once it listens it must not
 * fail, or it would drop what it had accepted. A stop that reached it while it was starting means it must
 * not take over: it exits without listening, and never touches the shared socket file. From the pidfile
 * to the ready byte there is no turn of the event loop, so no signal comes in between.
 */
const startSuccessor = (p: Prepared, inherited: Inherited, server: net.Server, go: Go): TE.TaskEither<ServeError, Stopped> =>
  pipe(
    TE.fromEither(checkInherited(inherited, p.config.bind)),
    TE.flatMap(() => settleSignals),
    TE.flatMap((): TE.TaskEither<ServeError, Stopped> => {
      if (signals.hasQueued(STOP_SIGNALS)) {
        p.log.warn({ event: 'stopped-before-ready' }, 'a stop signal arrived while this process was starting: exiting without taking over')
        signals.unlisten(OWN_SIGNALS)
        return TE.right({ code: 0 })
      }
      return pipe(
        writeOwnPidfile(p),
        TE.flatMap(() => acquire(server, { bind: p.config.bind, inherited: O.some(inherited), socketMode: p.config.socketMode, onStale: () => undefined })),
        TE.orElseFirstTaskK(() => removeOwnPidfile(p.pidfile)),
        TE.flatMapTask(go),
      )
    }),
  )

const start = (p: Prepared, makeProtocol: MakeProtocol): TE.TaskEither<ServeError, Stopped> => {
  const runtime = createRuntime(initial, (effect, error) =>
    p.log.error({ event: 'effect-failed', effect: effect._tag }, `${effect._tag} failed: ${error instanceof Error ? error.message : String(error)}`),
  )
  const protocol = makeProtocol(p.log, p.config)
  const connections = trackConnections({ opened: () => runtime.dispatch(OPENED), closed: () => runtime.dispatch(CLOSED) }, protocol.accept)
  const server = net.createServer(protocol.serverOptions)
  server.on('connection', connections.onConnection)
  const go: Go = (listener) => run(p, listener, runtime, protocol, connections)
  return O.isSome(p.inherited) ? startSuccessor(p, p.inherited.value, server, go) : startFirst(p, server, go)
}

/** Serves with a given protocol; the TaskEither completes when this process has stopped. */
export const serveProtocol = (input: ConfigInput, makeProtocol: MakeProtocol): TE.TaskEither<ServeError, Stopped> =>
  pipe(
    prepare(input),
    TE.tapError(() => TE.fromIO(() => signals.unlisten(OWN_SIGNALS))),
    TE.flatMap((p) =>
      pipe(
        start(p, makeProtocol),
        TE.tapError((e) =>
          TE.fromIO(() => {
            p.log.fatal({ event: 'startup-failed', error: e._tag }, describeServeError(e))
            signals.unlisten(OWN_SIGNALS)
          }),
        ),
      ),
    ),
  )

/** Runs a serve task as the program: exits with its code, or prints why it could not start and exits 1. */
export const runMain = (task: TE.TaskEither<ServeError, Stopped>): Promise<never> =>
  task().then((result) => {
    if (E.isLeft(result)) {
      process.stderr.write(`uninterruptible: ${describeServeError(result.left)}\n`)
      process.exit(1)
    }
    process.exit(result.right.code)
  })
