/**
 * Standalone mode: the process that serves also restarts itself. One TaskEither pipeline (take the
 * pidfile lock, acquire the listeners or check the inherited ones, write the pidfile, tell the parent we
 * are ready) that ends in the running lifecycle and completes when this process has stopped.
 */
import * as net from 'node:net'
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import * as T from 'fp-ts/Task'
import * as TE from 'fp-ts/TaskEither'
import { formatBind } from '../../core/bind'
import type { Config } from '../../core/config'
import type { Inherited } from '../../core/inherit'
import { type Event, initial } from '../../core/lifecycle'
import { isRestartSignal, STOP_SIGNALS, type StopSignal } from '../../core/signal'
import { describeServeError, type ServeError } from '../../errors'
import { bindAll, checkInherited, type Listener, type Listeners, release, takeAll } from '../../shell/listener'
import { describeReadyError, reportFailed, reportReady } from '../../shell/os/channel'
import { readPidfile, removeOwnPidfile, writePidfile } from '../../shell/os/pidfile'
import { inheritPidlock, type Pidlock, takePidlock } from '../../shell/os/pidlock'
import * as signals from '../../shell/os/signals'
import { type Connections, trackConnections } from '../../shell/protocol/connections'
import type { Protocol } from '../../shell/protocol/protocol'
import { createRuntime, type Runtime } from '../../shell/runtime'
import { OWN_SIGNALS, type Prepared, settleSignals, type Stopped } from '../prepare'
import { interpret } from './interpreter'
import { liveCapabilities } from './wiring'

const toEvent = (config: Config, signal: NodeJS.Signals): O.Option<Event> =>
  (STOP_SIGNALS as readonly string[]).includes(signal)
    ? O.some({ _tag: 'StopRequested', signal: signal as StopSignal })
    : isRestartSignal(signal) && signal === config.restartSignal
      ? O.some({ _tag: 'RestartRequested', signal })
      : O.none

const listeningFields = (listeners: Listeners, inherited: O.Option<Inherited>): Record<string, unknown> => ({
  event: 'listening',
  bind: RNEA.head(listeners).address,
  ...(listeners.length > 1 ? { binds: listeners.map((l) => l.address) } : {}),
  inherited: RNEA.head(listeners).inherited,
  ...(O.isSome(inherited) ? { parentPid: inherited.value.parentPid } : {}),
})

/** Starts the lifecycle on acquired listeners; completes when the Exit effect has run. */
const run =
  (p: Prepared, listeners: Listeners, pidlock: Pidlock, runtime: Runtime, protocol: Protocol, connections: Connections): T.Task<Stopped> =>
  () =>
    new Promise((resolve) => {
      const { log, config } = p
      for (const l of listeners) l.server.on('error', (err) => log.error({ event: 'accept-error', bind: l.address, err }, `accepting a connection failed: ${err.message}`))
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
          listeners,
          pidlock,
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
      const ready = O.map((i: Inherited) => reportReady(i.channelFd, false))(p.inherited)
      // after the ready line: the first line written loads the logging library, off the handoff's critical path
      const head = RNEA.head(listeners)
      log.info(
        listeningFields(listeners, p.inherited),
        `listening on ${listeners.map((l) => l.address).join(', ')} (${head.inherited ? 'inherited socket' : 'bound'}${listeners.length > 1 ? 's' : ''})`,
      )
      if (O.isSome(ready) && E.isLeft(ready.value)) {
        log.warn({ event: 'ready-unsent', error: ready.value.left.reason }, describeReadyError(ready.value.left))
      }
      protocol.started()
      p.hooks.listening()
    })

// events are plain immutable data: one object each serves every connection
const OPENED: Event = { _tag: 'ConnectionOpened' }
const CLOSED: Event = { _tag: 'ConnectionClosed' }
const STALLED: Event = { _tag: 'DrainStalled' }

/** Builds the protocol once the config is known and the log is open. */
export type MakeProtocol = (p: Pick<Prepared, 'log' | 'config' | 'info'>) => Protocol

type Go = (listeners: Listeners, pidlock: Pidlock) => T.Task<Stopped>

const writeOwnPidfile = (p: Prepared): TE.TaskEither<ServeError, void> =>
  O.isSome(p.pidfile) ? writePidfile(p.pidfile.value, process.pid) : TE.right(undefined)

const NO_LOCK: Pidlock = { fd: O.none, release: () => undefined }

/** Undoes the listeners and lock of a start-up that then failed: socket files go only if they are ours. */
const releaseAll =
  (listeners: readonly Listener[], pidlock: Pidlock): T.Task<void> =>
  async () => {
    for (const l of listeners) await release(l)()
    pidlock.release()
  }

/** The first generation takes the pidfile's lock, binds, then writes the pidfile; if that fails, all is undone. */
const startFirst = (p: Prepared, makeServer: () => net.Server, go: Go): TE.TaskEither<ServeError, Stopped> =>
  pipe(
    TE.Do,
    TE.bindW('pidlock', () => (O.isSome(p.pidfile) ? TE.fromEither(takePidlock(p.pidfile.value, readPidfile)) : TE.right(NO_LOCK))),
    TE.bindW('listeners', ({ pidlock }) =>
      pipe(
        bindAll(makeServer, p.config.binds, {
          socketMode: p.config.socketMode,
          onStale: (bind) => p.log.warn({ event: 'stale-socket', bind: formatBind(bind) }, `replacing a stale socket file nobody answers on at ${formatBind(bind)}`),
        }),
        TE.orElseFirstTaskK(() => T.fromIO(() => pidlock.release())),
      ),
    ),
    TE.tap(() => settleSignals),
    TE.tap(({ listeners, pidlock }) => pipe(writeOwnPidfile(p), TE.orElseFirstTaskK(() => releaseAll(listeners, pidlock)))),
    TE.flatMapTask(({ listeners, pidlock }) => go(listeners, pidlock)),
  )

/**
 * A successor checks its sockets and writes the pidfile before it listens: once it listens it must not
 * fail, or it would drop what it had accepted. A stop that reached it while it was starting means it must
 * not take over: it exits without listening, and never touches the shared socket files. From the pidfile
 * to the ready line there is no turn of the event loop, so no signal comes in between.
 */
const startSuccessor = (p: Prepared, inherited: Inherited, makeServer: () => net.Server, go: Go): TE.TaskEither<ServeError, Stopped> =>
  pipe(
    TE.fromEither(checkInherited(inherited, p.config.binds)),
    TE.flatMap(() => settleSignals),
    TE.flatMap((): TE.TaskEither<ServeError, Stopped> => {
      if (signals.hasQueued(STOP_SIGNALS)) {
        p.log.warn({ event: 'stopped-before-ready' }, 'a stop signal arrived while this process was starting: exiting without taking over')
        signals.unlisten(OWN_SIGNALS)
        return TE.right({ code: 0 })
      }
      return pipe(
        writeOwnPidfile(p),
        TE.flatMap(() => takeAll(makeServer, inherited, p.config.socketMode)),
        TE.orElseFirstTaskK(() => removeOwnPidfile(p.pidfile)),
        TE.flatMapTask((listeners) => go(listeners, inheritPidlock(inherited.pidlockFd))),
      )
    }),
  )

/** Serves in this process, restarting by handing over to a successor. */
export const standalone = (p: Prepared, makeProtocol: MakeProtocol): TE.TaskEither<ServeError, Stopped> => {
  const runtime = createRuntime(initial, (effect, error) =>
    p.log.error({ event: 'effect-failed', effect: effect._tag }, `${effect._tag} failed: ${error instanceof Error ? error.message : String(error)}`),
  )
  const protocol = makeProtocol(p)
  const connections = trackConnections({ opened: () => runtime.dispatch(OPENED), closed: () => runtime.dispatch(CLOSED) }, protocol.accept)
  const makeServer = (): net.Server => net.createServer(protocol.serverOptions, connections.onConnection)
  const go: Go = (listeners, pidlock) => run(p, listeners, pidlock, runtime, protocol, connections)
  if (O.isNone(p.inherited)) return startFirst(p, makeServer, go)
  const inherited = p.inherited.value
  // a successor that cannot start says why to its parent, which logs it with the failure
  return TE.tapError(startSuccessor(p, inherited, makeServer, go), (e) => TE.fromIO(() => reportFailed(inherited.channelFd, describeServeError(e))))
}
