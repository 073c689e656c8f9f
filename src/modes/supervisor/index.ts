/**
 * Supervisor mode: a small, stable process that owns the sockets and runs `workers` worker processes,
 * which serve (docs/ARCHITECTURE.md, "Modes"). It takes the pidfile's lock, binds every address without accepting,
 * writes the pidfile with its own pid (which never changes), then runs the supervisor reducer: a restart
 * signal starts a whole new generation of workers and the old one drains once the new one is ready; a
 * worker that dies is replaced; a stop drains every worker, then the supervisor exits. Its pid stays the
 * same across restarts, so it suits a container's PID 1 and a plain systemd service.
 */
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as T from 'fp-ts/Task'
import * as TE from 'fp-ts/TaskEither'
import type { WorkerCount } from '../../core/config'
import { outcomeJson, type WorkerStatus } from '../../core/wire/control'
import { signalRequest } from '../../core/signal'
import { type Effect, type Event, initial, pidOf, reduce, type State } from '../../core/supervisor'
import type { ServeError } from '../errors'
import { type ControlHandler, serveControl } from '../../shell/control/server'
import { drive, replayQueued, reportEffectFailure } from '../../shell/effects'
import type { ControlSocket } from '../../shell/control/socket'
import { matchActivation } from '../../shell/listener/activation'
import { adoptBound, type BoundSockets, bindAllUnaccepted, releaseBound } from '../../shell/listener/bound'
import { stopwatch } from '../../shell/os/clock'
import type { Pidlock } from '../../shell/os/pidlock'
import { loadOs } from '../../shell/os/lazy'
import * as signals from '../../shell/os/signals'
import { createRuntime, type Runtime } from '../../shell/runtime'
import { releaseAll } from '../finish'
import { afterReady } from '../lifecycle/run'
import type { Prepared, Stopped } from '../prepare'
import { controlSocket, lockPidfile, settleSignals, warnStale, writeOwnPidfile } from '../start'
import { interpret, type WorkerCounts } from './interpreter'
import { libraryWorkers, liveOs, type WorkerProgram } from './wiring'

export type Supervisor = Runtime<State, Event, Effect>

/** `auto`: one worker per core. */
export const workerCount = (w: WorkerCount): number => (w === 'auto' ? loadOs().availableParallelism() : w)

/** Since this module was loaded, on a monotonic clock (see shell/os/clock). */
const uptime = stopwatch()

/** The generation that serves (0 until the first does), and the state in words: what a status reports. */
const described = (state: State): { readonly generation: number; readonly state: string } => {
  switch (state._tag) {
    case 'Created':
      return { generation: 0, state: 'Starting' }
    case 'Starting':
      return { generation: 0, state: 'Starting (generation 1 starting)' }
    case 'Running':
      return { generation: state.current, state: O.isSome(state.pending) ? `Running (generation ${state.pending.value.generation} starting)` : 'Running' }
    case 'Stopping':
    case 'Exited':
      return { generation: O.getOrElse(() => 0)(state.served), state: state._tag }
  }
}

/** Asks a running worker for its counts. */
type AskWorker = (id: number) => Promise<WorkerCounts | null>

/** Answers control requests from the supervisor's state and its workers' own counts. */
const controlHandler = (runtime: Supervisor, ask: AskWorker): ControlHandler => ({
  restart: (n) => runtime.dispatch({ _tag: 'RestartRequested', by: { _tag: 'Request', id: n } }),
  stop: () => {
    const pids = runtime.state().workers.flatMap((w) => O.match(() => [], (pid: number) => [pid])(pidOf(w)))
    runtime.dispatch({ _tag: 'StopRequested', by: 'control' })
    return E.right([process.pid, ...pids])
  },
  status: async () => {
    const state = runtime.state()
    const each = await Promise.all(
      state.workers.map(async (w): Promise<WorkerStatus> => {
        const pid = pidOf(w)
        // only a worker that said ready reads its channel
        const counts = O.isSome(pid) ? await ask(w.id) : null
        return { pid: O.toNullable(pid), generation: w.generation, worker: w.slot, state: counts?.state ?? w.phase, connections: counts === null ? null : { active: counts.active, accepted: counts.accepted } }
      }),
    )
    const { generation, state: words } = described(state)
    return {
      pid: process.pid,
      mode: 'supervisor',
      generation,
      state: words,
      connections: each.reduce((sum, w) => ({ active: sum.active + (w.connections?.active ?? 0), accepted: sum.accepted + (w.connections?.accepted ?? 0) }), { active: 0, accepted: 0 }),
      uptimeMs: uptime(),
      lastRestart: O.match(() => null, outcomeJson)(state.lastRestart),
      workers: each,
    }
  },
})

/** Runs the supervisor on bound sockets; completes when it has exited. */
const supervise =
  (p: Prepared, sockets: BoundSockets, pidlock: Pidlock, controlSocket: O.Option<ControlSocket>, size: number, program: WorkerProgram): T.Task<Stopped> =>
  () =>
    new Promise((resolve) => {
      const { log, config } = p
      const runtime: Supervisor = createRuntime(reduce, initial(size), reportEffectFailure(log))
      const onSignal = (signal: NodeJS.Signals): void =>
        O.match(
          () => log.warn({ event: 'signal-ignored', signal }, `${signal} ignored: the restart signal is ${config.restartSignal}`),
          (event: Event) => runtime.dispatch(event),
        )(signalRequest(p.config.restartSignal, signal))
      const delivery = signals.take(onSignal)
      // the control server asks the workers through the runner, which answers on the control server
      const ask: AskWorker = (id) => supervising.status(id)
      const control = O.map((socket: ControlSocket) => ({ socket, server: serveControl(socket.server, controlHandler(runtime, ask), log) }))(controlSocket)
      const onExit = (code: number): void => {
        delivery.release()
        signals.unlistenOwn()
        resolve({ code })
      }
      const supervising = interpret(liveOs({ ...p, program, sockets, pidlock, control, onExit }), config, runtime.dispatch)
      drive(runtime, supervising.run, log)
      replayQueued(delivery.queued, config.restartSignal, onSignal, log)
      log.info(
        { event: 'supervising', binds: sockets.map((s) => s.address), workers: size },
        `supervising ${size} worker(s) on ${sockets.map((s) => s.address).join(', ')}; the workers accept, this process never does`,
      )
      runtime.dispatch({ _tag: 'Start' })
      // everything that answers is in place: requests that came while the supervisor started are answered now
      if (O.isSome(control)) control.value.socket.open()
      setImmediate(() => afterReady(log))
    })

/** Supervises `size` workers. */
export const supervisor = (p: Prepared, size: number, program: WorkerProgram = libraryWorkers(p.config)): TE.TaskEither<ServeError, Stopped> =>
  pipe(
    TE.Do,
    TE.bindW('pidlock', () => lockPidfile(p)),
    TE.bindW('sockets', ({ pidlock }) =>
      pipe(
        O.isSome(p.activation)
          ? TE.fromEither(E.map(adoptBound)(matchActivation(p.config.binds, p.activation.value)))
          : bindAllUnaccepted(p.config.binds, {
              socketMode: p.config.socketMode,
              onStale: warnStale(p),
            }),
        TE.orElseFirstTaskK(() => T.fromIO(() => pidlock.release())),
      ),
    ),
    TE.bindW('control', ({ sockets, pidlock }) => pipe(controlSocket(p), TE.orElseFirstTaskK(() => releaseAll(sockets, releaseBound, pidlock)))),
    TE.tap(() => settleSignals),
    TE.tap(({ sockets, pidlock, control }) =>
      pipe(
        writeOwnPidfile(p),
        TE.orElseFirstTaskK(() => releaseAll(sockets, releaseBound, pidlock, control)),
      ),
    ),
    TE.flatMapTask(({ sockets, pidlock, control }) => supervise(p, sockets, pidlock, control, size, program)),
  )
