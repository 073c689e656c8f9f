/**
 * A serving process, whichever mode it is in (standalone, or a supervisor's worker): the connection
 * counting, the lifecycle runtime and its interpreter, the control socket's answers, and the run itself
 * once the listeners are acquired: signals and control requests become lifecycle events, the parent
 * hears ready, the log says where it listens. Completes when the Exit effect has run.
 */
import net = require('node:net')
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import type * as T from 'fp-ts/Task'
import { outcomeJson, type Status } from '../../core/wire/control'
import type { Inherited } from '../../core/wire/inherit'
import { type Effect, type Event, initial, reduce, type State } from '../../core/lifecycle'
import { signalRequest } from '../../core/signal'
import { type ControlHandler, type ControlServer, serveControl } from '../../shell/control/server'
import { drive, replayQueued, reportEffectFailure } from '../../shell/effects'
import type { ControlSocket } from '../../shell/control/socket'
import type { Listeners } from '../../shell/listener'
import { describeReadyError, reportReady } from '../../shell/os/channel'
import { stopwatch } from '../../shell/os/clock'
import type { Pidlock } from '../../shell/os/pidlock'
import { libraryCodeOn } from '../../core/early'
import { flushCompileCache } from '../../shell/os/compileCache'
import { closeUnaskedInspector } from '../../shell/os/inspector'
import { handoffEndsService } from '../../shell/os/self'
import { loadedAtMs } from '../../shell/os/boot'
import { loadSpawn } from '../../shell/os/spawn'
import * as signals from '../../shell/os/signals'
import { type Connections, trackConnections } from '../../shell/protocol/connections'
import { nameListener } from '../../shell/protocol/listenerOf'
import { networkGate } from '../../shell/protocol/networks'
import type { Protocol } from '../../shell/protocol/protocol'
import { tlsLayer } from '../../shell/protocol/tls'
import { createRuntime, type Runtime } from '../../shell/runtime'
import type { Prepared, Stopped } from '../prepare'
import { interpret } from './interpreter'
import { type Control, liveOs } from './wiring'

/** The lifecycle's runtime. */
export type Lifecycle = Runtime<State, Event, Effect>

/** Builds the protocol once the config is known and the log is open. */
export type MakeProtocol = (p: Pick<Prepared, 'log' | 'config' | 'info'>) => Protocol

// events are plain immutable data: one object each serves every connection
const OPENED: Event = { _tag: 'ConnectionOpened' }
const CLOSED: Event = { _tag: 'ConnectionClosed' }
const STALLED: Event = { _tag: 'DrainStalled' }

/** What a serving process is made of before it listens. */
export interface Serving {
  readonly runtime: Lifecycle
  readonly protocol: Protocol
  readonly connections: Connections
  /** A new server, its connection listener attached, for one address. */
  readonly makeServer: () => net.Server
}

/** The application's protocol, behind TLS and the allowed networks when the config asks for them. */
const layered = (p: Prepared, makeProtocol: MakeProtocol): Protocol => {
  const app = makeProtocol(p)
  const secured = O.isSome(p.tls) ? tlsLayer(app, p.tls.value, p.log) : app
  return O.isSome(p.config.allowedNetworks) ? networkGate(secured, p.config.allowedNetworks.value, p.log) : secured
}

export const serving = (p: Prepared, makeProtocol: MakeProtocol): Serving => {
  // a standalone successor's last restart is the one that made it
  const madeBy = p.generation > 1 && p.info.mode === 'standalone' ? O.some(process.pid) : O.none
  const runtime: Lifecycle = createRuntime(reduce, initial(p.generation, madeBy), reportEffectFailure(p.log))
  const protocol = layered(p, makeProtocol)
  // a connection's number is the lifecycle's count of accepted connections: there is no other count
  const opened = (): number => {
    runtime.dispatch(OPENED)
    return runtime.state().connections.accepted
  }
  const connections = trackConnections({ opened, closed: () => runtime.dispatch(CLOSED) }, protocol.accept)
  return { runtime, protocol, connections, makeServer: () => net.createServer(protocol.serverOptions, connections.onConnection) }
}

/** How this process reports ready to the process that started it, and goes on talking to it. */
export interface Parent {
  /** A successor with a control socket, and a worker, keep the channel open after ready; others close it. */
  readonly keepChannel: boolean
  /** A worker: what a restart signal is told (the supervisor's pid), since a worker never restarts itself. */
  readonly restartsElsewhere: O.Option<number>
  /** Called once ready has been sent, with the runtime to feed. */
  readonly attach: (runtime: Lifecycle) => void
  /** Called once this process has closed its listeners (a worker tells its supervisor). */
  readonly stoppedAccepting?: () => void
}

/** A standalone process: the first has no parent; a successor's parent lets go by closing the channel. */
export const standaloneParent = (inherited: O.Option<Inherited>, control: O.Option<ControlSocket>): Parent => {
  if (O.isNone(inherited) || O.isNone(control)) return { keepChannel: false, restartsElsewhere: O.none, attach: () => openNow(control) }
  const { channelFd } = inherited.value
  const socket = control.value
  return {
    keepChannel: true,
    restartsElsewhere: O.none,
    attach: () => {
      // the parent closes its end once this process has passed its probation (or when it dies): then
      // control requests are this process's to answer
      const channel = new net.Socket({ fd: channelFd, readable: true, writable: false })
      channel.unref()
      channel.on('error', () => undefined)
      channel.once('close', () => socket.open())
      channel.resume()
    },
  }
}

const openNow = (control: O.Option<ControlSocket>): void => {
  if (O.isSome(control)) control.value.open()
}

const listeningFields = (listeners: Listeners, inherited: O.Option<Inherited>): Record<string, unknown> => ({
  event: 'listening',
  bind: RNEA.head(listeners).address,
  ...(listeners.length > 1 ? { binds: listeners.map((l) => l.address) } : {}),
  inherited: RNEA.head(listeners).inherited,
  ...(O.isSome(inherited) ? { parentPid: inherited.value.parentPid } : {}),
})

/** Since this module was loaded, on a monotonic clock (see shell/os/clock). */
const uptime = stopwatch()

/** Answers control requests from the lifecycle's state. */
const controlHandler = (p: Prepared, runtime: Lifecycle, refuse: (n: number, reason: string) => void): ControlHandler => ({
  restart: (n) => {
    const fatal = handoffEndsService()
    if (O.isSome(fatal)) refuse(n, `${fatal.value}; set \`workers\` in the config: a supervisor keeps its pid across restarts`)
    else runtime.dispatch({ _tag: 'RestartRequested', by: { _tag: 'Request', id: n } })
  },
  status: () => {
    const state = runtime.state()
    const status: Status = {
      pid: process.pid,
      mode: 'standalone',
      generation: p.generation,
      state: state._tag,
      connections: { active: state.connections.active, accepted: state.connections.accepted },
      uptimeMs: uptime(),
      lastRestart: O.match(() => null, outcomeJson)(state.lastRestart),
    }
    return Promise.resolve(status)
  },
  stop: () => {
    const state = runtime.state()
    if (state._tag === 'Restarting' || state._tag === 'Probation') return E.left(`a restart is in progress (attempt ${state.attempt}); ask again once it is over`)
    runtime.dispatch({ _tag: 'StopRequested', by: 'control' })
    return E.right([process.pid])
  },
})

// ---- the steps of a run ------------------------------------------------------------------------------

/** Each listener is named (its connections' log lines say which one accepted them); a failed accept is logged. */
const watchListeners = (listeners: Listeners, log: Prepared['log']): void => {
  for (const l of listeners) {
    nameListener(l.server, l.address)
    l.server.on('error', (err) => log.error({ event: 'accept-error', bind: l.address, err }, `accepting a connection failed: ${err.message}`))
  }
}

/** The control socket, if any, answered from the lifecycle's state. */
const answerControl = (p: Prepared, runtime: Lifecycle, socket: O.Option<ControlSocket>): O.Option<Control> =>
  O.map((socket: ControlSocket): Control => {
    const server: ControlServer = serveControl(socket.server, controlHandler(p, runtime, (n, reason) => server.answer([n], { _tag: 'RestartRefused', reason })), p.log)
    return { socket, server }
  })(socket)

/** What each signal means to this process: a lifecycle event, or a log line saying why it is ignored. */
const signalHandler =
  (p: Prepared, parent: Parent, runtime: Lifecycle) =>
  (signal: NodeJS.Signals): void => {
    const { log, config } = p
    if (O.isSome(parent.restartsElsewhere) && signal === config.restartSignal) {
      log.warn({ event: 'restart-ignored', signal, supervisorPid: parent.restartsElsewhere.value }, `${signal} ignored: this is a worker; send it to the supervisor, pid ${parent.restartsElsewhere.value}`)
      return
    }
    const fatal = signal === config.restartSignal ? handoffEndsService() : O.none
    if (O.isSome(fatal)) {
      log.warn({ event: 'restart-refused', signal, reason: fatal.value }, `${signal} refused: ${fatal.value}. Set \`workers\` in the config: a supervisor keeps its pid across restarts`)
      return
    }
    O.match(
      () => log.warn({ event: 'signal-ignored', signal }, `${signal} ignored: the restart signal is ${config.restartSignal}`),
      (event: Event) => runtime.dispatch(event),
    )(signalRequest(config.restartSignal, signal))
  }

const round = (ms: number): number => Math.round(ms * 10) / 10

/** Says ready to the process that started this one (if any), and where this process listens. */
const announceReady = (p: Prepared, listeners: Listeners, parent: Parent): void => {
  const { log } = p
  const ready = O.map((i: Inherited) => reportReady(i.channelFd, parent.keepChannel))(p.inherited)
  const readyAtMs = performance.now()
  const libraryCode = libraryCodeOn(globalThis)?.state ?? 'uncached'
  // after the ready line: the first line written loads the logging library, off the handoff's critical path
  const head = RNEA.head(listeners)
  log.info(
    listeningFields(listeners, p.inherited),
    `listening on ${listeners.map((l) => l.address).join(', ')} (${head.inherited ? 'inherited socket' : 'bound'}${listeners.length > 1 ? 's' : ''})`,
  )
  log.debug(
    { event: 'startup-timeline', libraryAtMs: round(loadedAtMs), preparedAtMs: round(p.preparedAtMs), readyAtMs: round(readyAtMs), libraryCode },
    `started: the library loaded ${round(loadedAtMs)} ms after this process began (its code ${libraryCode}), its config read at ${round(p.preparedAtMs)} ms, ready at ${round(readyAtMs)} ms`,
  )
  if (O.isSome(ready) && E.isLeft(ready.value)) {
    log.warn({ event: 'ready-unsent', error: ready.value.left.reason }, describeReadyError(ready.value.left))
  }
}

/** Starts the lifecycle on acquired listeners; completes when the Exit effect has run. */
export const run =
  (p: Prepared, s: Serving, listeners: Listeners, pidlock: Pidlock, parent: Parent, controlSocket: O.Option<ControlSocket> = O.none): T.Task<Stopped> =>
  () =>
    new Promise((resolve) => {
      const { log, config } = p
      const { runtime, protocol, connections } = s
      watchListeners(listeners, log)
      const control = answerControl(p, runtime, controlSocket)
      const onSignal = signalHandler(p, parent, runtime)
      const delivery = signals.take(onSignal)
      // an empty event loop mid-drain means no open connection can ever close by itself
      const onBeforeExit = (): void => runtime.dispatch(STALLED)
      process.on('beforeExit', onBeforeExit)
      const onExit = (code: number): void => {
        delivery.release()
        process.removeListener('beforeExit', onBeforeExit)
        signals.unlistenOwn()
        resolve({ code })
      }
      const os = liveOs({ ...p, listeners, pidlock, control, connections, protocol, onExit, stoppedAccepting: parent.stoppedAccepting ?? (() => undefined) })
      drive(runtime, interpret(os, config, runtime), log)
      // a successor with a stop queued never gets this far (see stoppedWhileStarting)
      replayQueued(delivery.queued, config.restartSignal, onSignal, log)
      announceReady(p, listeners, parent)
      parent.attach(runtime)
      protocol.started()
      p.hooks.listening()
      setImmediate(() => afterReady(log))
    })

/**
 * Once this process serves, off the handoff's path: what it compiled goes to the compile cache for the
 * next process, the code that spawns one is loaded (it is on the next restart's path), and an inspector a
 * stray SIGUSR1 opened while Node started is closed.
 */
export const afterReady = (log: Prepared['log']): void => {
  flushCompileCache()
  loadSpawn()
  O.map((url: string) =>
    log.warn({ event: 'inspector-closed', url }, `closed the Node inspector (${url}): a SIGUSR1 opened it while Node was starting, before the library could listen for it`),
  )(closeUnaskedInspector())
}
