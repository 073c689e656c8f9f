/**
 * Supervisor: the decisions of a process that owns the sockets and runs `size` workers, as one pure
 * reducer. `reduce(state, event)` returns the next state and the effects to run, as plain data.
 *
 *   Starting --generation 1 ready--> Running --stop--> Stopping --last worker gone--> Exited
 *       |                              |  ^
 *       +--a worker failed: exit 1     |  +-- restart: a whole new generation starts beside the serving one;
 *                                      |      once every new worker is ready and has passed its probation,
 *                                      |      the old workers drain. A new worker that fails ends the attempt:
 *                                      |      the new generation goes (its ready workers drain, the others
 *                                      |      are killed), the old one serves on.
 *                                      +-- a serving worker dies: its slot is respawned, after a backoff that
 *                                          grows while it keeps dying quickly.
 *
 * The supervisor never runs the handler and never accepts: its workers do, on the sockets it holds, so
 * while no worker runs, clients wait in the kernel's queue. (docs/ARCHITECTURE.md, "The reducers", draws
 * the states with their workers and pending generation.)
 */
import * as O from 'fp-ts/Option'
import { type ChildFailure, describeFailure, failureFields, killedWhileBooting, MAX_BOOT_RESPAWNS } from './failure'
import {
  type AnswerEffect,
  asker,
  askerFields,
  failedBecause,
  log,
  type LogEffect,
  type LogLevel,
  type RestartBy,
  type RestartOutcome,
  refuse,
  requestIds,
} from './outcome'
import { forcedExitCode, type StopSignal } from './signal'

// ---- state -------------------------------------------------------------------------------------

/** What every {@link Worker} carries, whatever its phase. */
export interface WorkerBase {
  /** The supervisor's number for this worker process, never given again: events and effects name workers by it. */
  readonly id: number
  /** Its place among the workers of its generation, from 0 (a respawned worker takes the dead one's). */
  readonly slot: number
  /** The generation it belongs to. */
  readonly generation: number
}
/** Started, not ready yet: it does not read its channel. */
export interface StartingWorker extends WorkerBase {
  /** Which phase this is. */
  readonly phase: 'starting'
}
/** It said ready (with its pid) and serves. */
export interface ReadyWorker extends WorkerBase {
  /** Which phase this is. */
  readonly phase: 'ready'
  /** The pid it said ready with. */
  readonly pid: number
}
/** Asked to drain, or killed: gone once its exit is seen. `pid`: known if it had said ready. */
export interface StoppingWorker extends WorkerBase {
  /** Which phase this is. */
  readonly phase: 'stopping'
  /** Its pid, if it had said ready. */
  readonly pid: O.Option<number>
}
/** A worker process the supervisor started and has not seen exit yet. */
export type Worker = StartingWorker | ReadyWorker | StoppingWorker
/** A worker's phase: `starting`, `ready` or `stopping`. */
export type WorkerPhase = Worker['phase']

/** A worker's pid, once it has said ready. */
export const pidOf = (w: Worker): O.Option<number> => {
  switch (w.phase) {
    case 'starting':
      return O.none
    case 'ready':
      return O.some(w.pid)
    case 'stopping':
      return w.pid
  }
}

/** A restart's new generation whose workers are still starting. */
export interface Spawning {
  /** Which phase of the restart this is. */
  readonly _tag: 'Spawning'
  /** The new generation's number. */
  readonly generation: number
  /** Who asked for this restart (control requests get its outcome). */
  readonly by: readonly RestartBy[]
  /** How many of its workers were started again after a signal killed them while Node booted. */
  readonly respawns: number
}
/** Every worker of it is ready (`pids`); it serves beside the old one until its probation has passed. */
export interface OnProbation {
  /** Which phase of the restart this is. */
  readonly _tag: 'OnProbation'
  /** The new generation's number. */
  readonly generation: number
  /** Who asked for this restart (control requests get its outcome). */
  readonly by: readonly RestartBy[]
  /** The pids of its workers. */
  readonly pids: readonly number[]
}
/** A restart's new generation, beside the serving one until it replaces it or fails. */
export type Pending = Spawning | OnProbation

/**
 * A restart whose new generation serves, told to those who asked only once no old worker accepts any
 * more (each has said it closed its listeners, or is gone): from then on every new connection reaches
 * the new code.
 */
export interface Confirming {
  /** The ids of the control requests that asked for the restart. */
  readonly requests: readonly number[]
  /** What they will be answered: `Restarted`. */
  readonly outcome: RestartOutcome
  /** The old workers not yet known to have stopped accepting. */
  readonly waiting: readonly number[]
}

/** What every supervisor {@link State} carries, whatever its tag. */
export interface StateBase {
  /** How many workers a generation has. */
  readonly size: number
  /** The last generation number given out (a failed generation's number is not given again). */
  readonly generations: number
  /** Every worker process still alive, whatever its generation. */
  readonly workers: readonly Worker[]
  /** The id the next worker started gets. */
  readonly nextId: number
  /** How the last restart ended (a refusal is not one): what a status reports. */
  readonly lastRestart: O.Option<RestartOutcome>
}

/** Made, and not told to start yet: the state {@link initial} gives; the Start event starts generation 1. */
export interface Created extends StateBase {
  /** Which state this is. */
  readonly _tag: 'Created'
}
/** Generation 1 is starting (asked for by nobody): nothing serves yet. */
export interface Starting extends StateBase {
  /** Which state this is. */
  readonly _tag: 'Starting'
  /** How many of its workers were started again after a signal killed them while Node booted. */
  readonly respawns: number
}
/** A generation serves; a restart's generation may be starting beside it (`pending`). */
export interface Running extends StateBase {
  /** Which state this is. */
  readonly _tag: 'Running'
  /** The generation that serves. */
  readonly current: number
  /** A restart's generation starting beside it, or on probation. */
  readonly pending: O.Option<Pending>
  /** Per slot of the serving generation: how many times in a row its worker died soon after starting. */
  readonly crashes: readonly number[]
  /** Restarts whose new generation serves, not answered until the old workers accept no more. */
  readonly confirming: readonly Confirming[]
}
/** Stopping: every worker drains, and the supervisor exits once the last one is gone. */
export interface Stopping extends StateBase {
  /** Which state this is. */
  readonly _tag: 'Stopping'
  /** The generation that served when the stop came (none: the first never served). */
  readonly served: O.Option<number>
  /** The code to exit with once the last worker is gone: 1 when the first generation could not start. */
  readonly code: number
}
/** Done: the supervisor exits with `code` (an `Exit` effect said so); every event is ignored from now on. */
export interface Exited extends StateBase {
  /** Which state this is. */
  readonly _tag: 'Exited'
  /** The generation that served when the stop came (none: the first never served). */
  readonly served: O.Option<number>
  /** The exit code: 0 after a stop, 1 when the first generation could not start, 130 or 143 after a second stop signal. */
  readonly code: number
}

/**
 * The state of a supervisor: Created, Starting (generation 1), Running (a generation serves; a restart
 * runs a new one beside it), Stopping, Exited.
 *
 * @remarks
 * New states may come in a minor release: give a `switch` over `_tag` a default branch.
 */
export type State = Created | Starting | Running | Stopping | Exited

export const initial = (size: number): State => ({ _tag: 'Created', size, generations: 0, workers: [], nextId: 1, lastRestart: O.none })

// ---- events and effects ---------------------------------------------------------------------------

/**
 * What happens to a supervisor, as the library reports it to {@link reduce}: its start, requests (a
 * restart signal or control request, a stop), news of its workers (each named by its `id`), and timers
 * it asked for. An event that does not apply in a state is ignored, with a debug log effect
 * (`event-ignored`).
 *
 * @remarks
 * New events may come in a minor release: give a `switch` over `_tag` a default branch.
 */
export type Event =
  /** Start generation 1 (once, in Created). */
  | { readonly _tag: 'Start' }
  /** A restart signal or a control request asks for a restart. */
  | { readonly _tag: 'RestartRequested'; readonly by: RestartBy }
  /** By a signal, or by a control request (only a second signal forces). */
  | { readonly _tag: 'StopRequested'; readonly by: StopSignal | 'control' }
  /** Worker `id` is ready (and serves), with pid `pid`. */
  | { readonly _tag: 'WorkerReady'; readonly id: number; readonly pid: number }
  /** It could not be started, or exited or timed out before it was ready. */
  | { readonly _tag: 'WorkerFailed'; readonly id: number; readonly pid: number | null; readonly failure: ChildFailure }
  /** It exited after it was ready, `upMs` after it started. */
  | { readonly _tag: 'WorkerExited'; readonly id: number; readonly pid: number; readonly code: number | null; readonly signal: string | null; readonly upMs: number }
  /** A worker asked to stop has closed its listeners. */
  | { readonly _tag: 'WorkerDraining'; readonly id: number }
  /** `probationMs` have passed since every worker of `generation` was ready (after a StartProbation effect). */
  | { readonly _tag: 'ProbationPassed'; readonly generation: number }
  /** A ScheduleRespawn's delay is over: start a worker in `slot` again. */
  | { readonly _tag: 'RespawnDue'; readonly slot: number; readonly generation: number }

export type { LogLevel }

/**
 * What the supervisor's reducer asks the library to do, as plain data: start, stop and kill workers,
 * time a probation and a respawn, give up the sockets, exit, answer control requests, and log. The
 * library runs them in the order given; the ones that take time report back with an `Event`.
 *
 * @remarks
 * New effects may come in a minor release: give a `switch` over `_tag` a default branch.
 */
export type Effect =
  /** Start worker `id` in `slot` of `generation`; it reports WorkerReady or WorkerFailed. */
  | { readonly _tag: 'SpawnWorker'; readonly id: number; readonly slot: number; readonly generation: number }
  /**
   * Make it drain and exit. `ask`: a ready worker is asked on its channel (a signal to its process group
   * would reach what it started too); `terminate`: one still starting does not read its channel yet, and
   * SIGTERM makes it exit without serving.
   */
  | { readonly _tag: 'StopWorker'; readonly id: number; readonly how: 'ask' | 'terminate' }
  /** SIGKILL it with everything it started. */
  | { readonly _tag: 'KillWorker'; readonly id: number }
  /** After `probationMs`, report ProbationPassed. */
  | { readonly _tag: 'StartProbation'; readonly generation: number }
  /** After `delayMs` (see {@link respawnDelay}), report RespawnDue for `slot`. */
  | { readonly _tag: 'ScheduleRespawn'; readonly slot: number; readonly generation: number; readonly delayMs: number }
  /** The first generation serves: say where. */
  | { readonly _tag: 'AnnounceServing'; readonly generation: number; readonly pids: readonly number[] }
  /** Remove the UNIX socket files this server created (at a stop: new clients then find no path). */
  | { readonly _tag: 'RemoveSocketFiles' }
  /**
   * Close this process's copies of the sockets (at a stop). The workers hold the same sockets: they stay
   * open while a worker does, and the last worker to close its listeners (after accepting what was
   * queued) closes them, so new clients are refused instead of queued for nobody.
   */
  | { readonly _tag: 'CloseSockets' }
  /** Send the outcome of a restart to the control requests that asked for it. */
  | AnswerEffect
  /** End the supervisor with `code`; `now`: at once (a second stop signal), its workers killed. */
  | { readonly _tag: 'Exit'; readonly code: number; readonly now: boolean }
  /** Write a log line. */
  | LogEffect

/** What {@link reduce} gives: the next state, and the effects to run, in order. */
export type Step = readonly [State, readonly Effect[]]

// ---- respawn backoff ------------------------------------------------------------------------------

/** A worker that served this long before it died was not in a crash loop: its slot's count starts again. */
export const STABLE_MS = 10_000
const RESPAWN_FIRST_MS = 100
/** The longest wait before a dead worker's slot is started again: 30 s. */
export const RESPAWN_MAX_MS = 30_000

/**
 * The delay before respawning a slot whose worker died `crashes` times in a row: 100 ms, doubling, at most 30 s.
 *
 * @param crashes - how many times in a row the slot's worker has died, this death included (1 after a worker that had been up {@link STABLE_MS} or more)
 * @returns the delay in milliseconds
 */
export const respawnDelay = (crashes: number): number => Math.min(RESPAWN_MAX_MS, RESPAWN_FIRST_MS * 2 ** Math.max(0, crashes - 1))

// ---- helpers ----------------------------------------------------------------------------------------

const ignore = (state: State, event: Event, why: string): Step => [
  state,
  [log('debug', 'event-ignored', `${event._tag} ignored: ${why}`, { phase: state._tag, eventType: event._tag })],
]

const byId = (state: State, id: number): Worker | undefined => state.workers.find((w) => w.id === id)
const without = (workers: readonly Worker[], id: number): readonly Worker[] => workers.filter((w) => w.id !== id)
const ofGeneration = (workers: readonly Worker[], generation: number): readonly Worker[] => workers.filter((w) => w.generation === generation)
const isAlive = (w: Worker): w is StartingWorker | ReadyWorker => w.phase !== 'stopping'

const stopping = (w: Worker): StoppingWorker => ({ id: w.id, slot: w.slot, generation: w.generation, phase: 'stopping', pid: pidOf(w) })
const setStopping = (workers: readonly Worker[], ids: readonly number[]): readonly Worker[] => workers.map((w) => (ids.includes(w.id) ? stopping(w) : w))

/** How a worker is stopped is decided by what it is: a ready one is asked, one still starting is signalled. */
const stopWorker = (w: StartingWorker | ReadyWorker): Effect => ({ _tag: 'StopWorker', id: w.id, how: w.phase === 'ready' ? 'ask' : 'terminate' })

const fresh = (id: number, slot: number, generation: number): StartingWorker => ({ id, slot, generation, phase: 'starting' })
const spawn = (w: StartingWorker): Effect => ({ _tag: 'SpawnWorker', id: w.id, slot: w.slot, generation: w.generation })

/** Starts `size` workers of a generation. */
const spawnGeneration = (state: State, generation: number): { readonly workers: readonly Worker[]; readonly nextId: number; readonly effects: readonly Effect[] } => {
  const started = Array.from({ length: state.size }, (_, slot) => fresh(state.nextId + slot, slot, generation))
  return { workers: [...state.workers, ...started], nextId: state.nextId + state.size, effects: started.map(spawn) }
}

/** The pids of a generation once all `size` of its workers are ready. */
const allReady = (workers: readonly Worker[], generation: number, size: number): O.Option<readonly number[]> => {
  const all = ofGeneration(workers, generation)
  const pids = all.flatMap((w) => (w.phase === 'ready' ? [w.pid] : []))
  return all.length >= size && pids.length === all.length ? O.some(pids) : O.none
}

/** The failure of a worker, as what happened to it: a ready worker that exited crashed after it was ready. */
const failureOf = (event: Extract<Event, { _tag: 'WorkerFailed' | 'WorkerExited' }>): ChildFailure =>
  event._tag === 'WorkerFailed' ? event.failure : { _tag: 'CrashedAfterReady', code: event.code, signal: event.signal }

/** Once nothing is left alive while stopping, the process exits. */
const settle = ([state, effects]: Step): Step =>
  state._tag === 'Stopping' && state.workers.length === 0
    ? [{ ...state, _tag: 'Exited' }, [...effects, { _tag: 'Exit', code: state.code, now: false }]]
    : [state, effects]

const answerOf = (c: Confirming): Effect => ({ _tag: 'Answer', requests: c.requests, outcome: c.outcome })

/** Worker `id` accepts no more (it said so, or it is gone): the restarts waiting only for it are answered. */
const confirmed = ([state, effects]: Step, id: number): Step => {
  if (state._tag !== 'Running' || !state.confirming.some((c) => c.waiting.includes(id))) return [state, effects]
  const confirming = state.confirming.map((c) => ({ ...c, waiting: c.waiting.filter((w) => w !== id) }))
  return [{ ...state, confirming: confirming.filter((c) => c.waiting.length > 0) }, [...effects, ...confirming.filter((c) => c.waiting.length === 0).map(answerOf)]]
}

/** A step's state records the outcome of its last Answer that was not a refusal: the restart a status reports. */
const recorded = ([state, effects]: Step): Step => {
  let last: O.Option<RestartOutcome> = O.none
  for (const e of effects) if (e._tag === 'Answer' && e.outcome._tag !== 'RestartRefused') last = O.some(e.outcome)
  return O.isSome(last) ? [{ ...state, lastRestart: last }, effects] : [state, effects]
}

/**
 * Stop everything: the socket files go first (new clients find no path), this process lets go of the
 * sockets, then every worker drains: the sockets close with the last worker's listeners.
 */
const stopAll = (state: Created | Starting | Running, code: number, before: readonly Effect[]): Step => {
  const alive = state.workers.filter(isAlive)
  const pending = state._tag === 'Running' ? O.toUndefined(state.pending) : undefined
  const abandoned: readonly Effect[] =
    pending !== undefined && pending.by.length > 0
      ? [{ _tag: 'Answer', requests: requestIds(pending.by), outcome: { _tag: 'RestartFailed', generation: pending.generation, reason: 'the server is stopping', failure: null, stopping: true } }]
      : []
  const { size, generations, nextId, lastRestart } = state
  return settle([
    {
      _tag: 'Stopping',
      size,
      generations,
      nextId,
      lastRestart,
      workers: setStopping(state.workers, alive.map((w) => w.id)),
      served: state._tag === 'Running' ? O.some(state.current) : O.none,
      code,
    },
    [
      ...before,
      ...abandoned,
      ...(state._tag === 'Running' ? state.confirming.map(answerOf) : []),
      { _tag: 'RemoveSocketFiles' },
      { _tag: 'CloseSockets' },
      ...alive.map(stopWorker),
    ],
  ])
}

/** Why a new worker failed, in words. */
const reasonOf = (failed: Worker, pid: number | null, failure: ChildFailure): string =>
  failedBecause(pid !== null ? `worker ${failed.slot} (pid ${pid})` : `worker ${failed.slot}`, failure)

/**
 * A worker of a starting generation failed: the whole generation goes. A worker of it that is ready has
 * accepted connections: it drains them, as an old worker does; one still starting has none, and is
 * killed with what it started.
 */
const siblings = (state: State, generation: number, failed: Worker): { readonly starting: readonly StartingWorker[]; readonly ready: readonly ReadyWorker[] } => {
  const others = ofGeneration(state.workers, generation).filter((w) => w.id !== failed.id)
  return {
    starting: others.flatMap((w) => (w.phase === 'starting' ? [w] : [])),
    ready: others.flatMap((w) => (w.phase === 'ready' ? [w] : [])),
  }
}

/** The first generation could not start: the server stops, and exits 1 (its ready workers drain with the rest of the stop). */
const firstFailed = (state: Starting, failed: Worker, pid: number | null, failure: ChildFailure): Step => {
  const { starting } = siblings(state, 1, failed)
  return stopAll({ ...state, workers: setStopping(without(state.workers, failed.id), starting.map((w) => w.id)) }, 1, [
    log('error', 'start-failed', `generation 1 could not start: ${reasonOf(failed, pid, failure)}`, { generation: 1, worker: failed.slot, ...failureFields(failure) }),
    ...starting.map((w): Effect => ({ _tag: 'KillWorker', id: w.id })),
  ])
}

/** A worker of a restart's generation failed: that generation goes, the serving one stays. */
const abandonPending = (state: Running, pending: Pending, failed: Worker, pid: number | null, failure: ChildFailure): Step => {
  const { starting, ready } = siblings(state, pending.generation, failed)
  const reason = reasonOf(failed, pid, failure)
  return [
    { ...state, pending: O.none, workers: setStopping(without(state.workers, failed.id), [...starting, ...ready].map((w) => w.id)) },
    [
      ...starting.map((w): Effect => ({ _tag: 'KillWorker', id: w.id })),
      ...ready.map(stopWorker),
      log('error', 'generation-failed', `generation ${pending.generation} failed: ${reason}; generation ${state.current} serves on`, {
        generation: pending.generation,
        serving: state.current,
        worker: failed.slot,
        ...failureFields(failure),
      }),
      { _tag: 'Answer', requests: requestIds(pending.by), outcome: { _tag: 'RestartFailed', generation: pending.generation, reason, failure, stopping: false } },
    ],
  ]
}

/** A new worker killed by a stray signal while Node booted (see killedWhileBooting): its slot is started again at once. */
const respawnBooting = (state: State, respawns: number, dead: Worker, pid: number | null, failure: ChildFailure): { readonly workers: readonly Worker[]; readonly nextId: number; readonly effects: readonly Effect[] } => {
  const again = fresh(state.nextId, dead.slot, dead.generation)
  return {
    workers: [...without(state.workers, dead.id), again],
    nextId: state.nextId + 1,
    effects: [
      { _tag: 'KillWorker', id: dead.id },
      log('warn', 'killed-while-booting', `worker ${dead.slot} of generation ${dead.generation}${pid !== null ? ` (pid ${pid})` : ''} ${describeFailure(failure)}, while Node was still starting (before JavaScript can listen for it): starting it again (${respawns} of ${MAX_BOOT_RESPAWNS})`, {
        worker: dead.slot,
        generation: dead.generation,
        workerPid: pid,
        ...failureFields(failure),
      }),
      spawn(again),
    ],
  }
}

// ---- reducer ----------------------------------------------------------------------------------------

const onStart = (state: State, event: Event): Step => {
  if (state._tag !== 'Created') return ignore(state, event, 'already started')
  const spawned = spawnGeneration(state, 1)
  const { size, lastRestart } = state
  return [
    { _tag: 'Starting', size, lastRestart, generations: 1, workers: spawned.workers, nextId: spawned.nextId, respawns: 0 },
    [log('info', 'generation-started', `starting generation 1: ${state.size} worker(s)`, { generation: 1 }), ...spawned.effects],
  ]
}

const onReady = (state: State, event: Extract<Event, { _tag: 'WorkerReady' }>): Step => {
  const w = byId(state, event.id)
  if (w?.phase !== 'starting') return ignore(state, event, 'not a starting worker')
  const workers = state.workers.map((x): Worker => (x.id === w.id ? { id: w.id, slot: w.slot, generation: w.generation, phase: 'ready', pid: event.pid } : x))
  const notYet: Step = [{ ...state, workers }, [log('debug', 'worker-ready', `worker ${w.slot} of generation ${w.generation} is ready`, { worker: w.slot, workerPid: event.pid })]]
  if (state._tag === 'Starting') {
    const pids = allReady(workers, 1, state.size)
    if (O.isNone(pids)) return notYet
    const { size, generations, nextId, lastRestart } = state
    return [
      { _tag: 'Running', size, generations, nextId, lastRestart, workers, current: 1, pending: O.none, crashes: Array.from({ length: size }, () => 0), confirming: [] },
      [log('info', 'generation-ready', `generation 1 serves: ${size} worker(s)`, { generation: 1 }), { _tag: 'AnnounceServing', generation: 1, pids: pids.value }],
    ]
  }
  if (state._tag === 'Running' && O.isSome(state.pending) && state.pending.value._tag === 'Spawning' && w.generation === state.pending.value.generation) {
    const pending = state.pending.value
    const pids = allReady(workers, pending.generation, state.size)
    if (O.isNone(pids)) return notYet
    return [
      { ...state, workers, pending: O.some({ _tag: 'OnProbation', generation: pending.generation, by: pending.by, pids: pids.value }) },
      [
        log('info', 'generation-ready', `generation ${pending.generation} is ready (pids ${pids.value.join(', ')}) and serves beside generation ${state.current} for its probation`, {
          generation: pending.generation,
        }),
        { _tag: 'StartProbation', generation: pending.generation },
      ],
    ]
  }
  return [{ ...state, workers }, [log('info', 'worker-ready', `worker ${w.slot} of generation ${w.generation} is ready again (pid ${event.pid})`, { worker: w.slot, workerPid: event.pid })]]
}

const onGone = (state: State, event: Extract<Event, { _tag: 'WorkerFailed' | 'WorkerExited' }>): Step => {
  const w = byId(state, event.id)
  if (w === undefined) return ignore(state, event, 'no such worker')
  const failure = failureOf(event)
  const workers = without(state.workers, w.id)
  if (w.phase === 'stopping') {
    const how = event._tag === 'WorkerExited' ? { exitCode: event.code, signal: event.signal } : failureFields(failure)
    return settle([
      { ...state, workers },
      [log('info', 'worker-exited', `worker ${w.slot} of generation ${w.generation} has exited`, { worker: w.slot, generation: w.generation, workerPid: O.toNullable(w.pid), ...how })],
    ])
  }
  const booting = w.phase === 'starting' && killedWhileBooting(failure)
  if (state._tag === 'Starting') {
    if (booting && state.respawns < MAX_BOOT_RESPAWNS) {
      const respawns = state.respawns + 1
      const again = respawnBooting(state, respawns, w, event.pid, failure)
      return [{ ...state, respawns, workers: again.workers, nextId: again.nextId }, again.effects]
    }
    return firstFailed(state, w, event.pid, failure)
  }
  if (state._tag !== 'Running') return settle([{ ...state, workers }, []])
  if (O.isSome(state.pending) && w.generation === state.pending.value.generation) {
    const pending = state.pending.value
    if (booting && pending._tag === 'Spawning' && pending.respawns < MAX_BOOT_RESPAWNS) {
      const respawns = pending.respawns + 1
      const again = respawnBooting(state, respawns, w, event.pid, failure)
      return [{ ...state, pending: O.some({ ...pending, respawns }), workers: again.workers, nextId: again.nextId }, again.effects]
    }
    return abandonPending(state, pending, w, event.pid, failure)
  }
  if (w.generation !== state.current) return [{ ...state, workers }, []]
  // a serving worker (or a respawned one still starting) died: respawn its slot, later each time it keeps dying
  const crashes = event._tag === 'WorkerExited' && event.upMs >= STABLE_MS ? 1 : (state.crashes[w.slot] ?? 0) + 1
  const delayMs = respawnDelay(crashes)
  const pid = w.phase === 'ready' ? w.pid : event.pid
  return [
    { ...state, workers, crashes: state.crashes.map((c, slot) => (slot === w.slot ? crashes : c)) },
    [
      log('warn', 'worker-exited', `worker ${w.slot} of generation ${w.generation} (pid ${String(pid)}) ${describeFailure(failure)}; respawning it in ${delayMs} ms`, {
        worker: w.slot,
        generation: w.generation,
        workerPid: pid,
        crashes,
        delayMs,
        ...failureFields(failure),
      }),
      { _tag: 'ScheduleRespawn', slot: w.slot, generation: w.generation, delayMs },
    ],
  ]
}

const onRestart = (state: State, by: RestartBy): Step => {
  switch (state._tag) {
    case 'Created':
    case 'Starting':
      return [state, refuse(by, 'the server is still starting')]
    case 'Stopping':
    case 'Exited':
      return [state, refuse(by, 'the server is stopping')]
    case 'Running':
      break
  }
  if (O.isSome(state.pending)) return [state, refuse(by, `a restart is in progress (generation ${state.pending.value.generation})`)]
  const generation = state.generations + 1
  const spawned = spawnGeneration(state, generation)
  return [
    { ...state, generations: generation, pending: O.some({ _tag: 'Spawning', generation, by: [by], respawns: 0 }), workers: spawned.workers, nextId: spawned.nextId },
    [
      log('info', 'restart-requested', `${asker(by)}: starting generation ${generation} (${state.size} worker(s)) beside generation ${state.current}`, {
        generation,
        ...askerFields(by),
      }),
      ...spawned.effects,
    ],
  ]
}

const onProbationPassed = (state: State, event: Extract<Event, { _tag: 'ProbationPassed' }>): Step => {
  if (state._tag !== 'Running' || O.isNone(state.pending)) return ignore(state, event, 'no generation on probation')
  const pending = state.pending.value
  if (pending._tag !== 'OnProbation' || pending.generation !== event.generation) return ignore(state, event, 'no generation on probation')
  const old = ofGeneration(state.workers, state.current).filter(isAlive)
  const { pids } = pending
  const outcome: RestartOutcome = { _tag: 'Restarted', generation: pending.generation, pids }
  const confirming: Confirming = { requests: requestIds(pending.by), outcome, waiting: old.map((w) => w.id) }
  return [
    {
      ...state,
      current: pending.generation,
      pending: O.none,
      workers: setStopping(state.workers, old.map((w) => w.id)),
      crashes: state.crashes.map(() => 0),
      confirming: old.length > 0 ? [...state.confirming, confirming] : state.confirming,
    },
    [
      log('info', 'generation-replaced', `generation ${pending.generation} passed its probation and serves (pids ${pids.join(', ')}); generation ${state.current} drains`, {
        generation: pending.generation,
        replaced: state.current,
      }),
      ...old.map(stopWorker),
      ...(old.length > 0 ? [] : [answerOf(confirming)]),
    ],
  ]
}

const onRespawnDue = (state: State, event: Extract<Event, { _tag: 'RespawnDue' }>): Step => {
  if (state._tag !== 'Running' || event.generation !== state.current) return ignore(state, event, 'that generation no longer serves')
  if (state.workers.some((w) => w.generation === state.current && w.slot === event.slot && isAlive(w))) return ignore(state, event, 'the slot has a worker')
  const w = fresh(state.nextId, event.slot, state.current)
  return [
    { ...state, workers: [...state.workers, w], nextId: state.nextId + 1 },
    [log('info', 'worker-respawn', `respawning worker ${w.slot} of generation ${w.generation}`, { worker: w.slot, generation: w.generation }), spawn(w)],
  ]
}

const onStop = (state: Exclude<State, Exited>, event: Extract<Event, { _tag: 'StopRequested' }>): Step => {
  const { by } = event
  if (state._tag === 'Stopping') {
    if (by === 'control') return ignore(state, event, 'already stopping')
    const signal = by
    const alive = state.workers
    return [
      { ...state, _tag: 'Exited', code: forcedExitCode(signal) },
      [
        log('warn', 'forced-exit', `second stop signal (${signal}): killing ${alive.length} worker(s) and exiting now`, { signal, workers: alive.length }),
        ...alive.map((w): Effect => ({ _tag: 'KillWorker', id: w.id })),
        { _tag: 'Exit', code: forcedExitCode(signal), now: true },
      ],
    ]
  }
  return stopAll(state, 0, [
    by === 'control'
      ? log('info', 'stop-requested', 'a control request asked this server to stop; the workers drain', { by })
      : log('info', 'stop-requested', `${by} received: stopping; the workers drain`, { signal: by }),
  ])
}

const step = (state: Exclude<State, Exited>, event: Event): Step => {
  switch (event._tag) {
    case 'Start':
      return onStart(state, event)
    case 'RestartRequested':
      return onRestart(state, event.by)
    case 'StopRequested':
      return onStop(state, event)
    case 'WorkerReady':
      return onReady(state, event)
    case 'WorkerFailed':
    case 'WorkerExited':
      return confirmed(onGone(state, event), event.id)
    case 'WorkerDraining':
      return confirmed([state, []], event.id)
    case 'ProbationPassed':
      return onProbationPassed(state, event)
    case 'RespawnDue':
      return onRespawnDue(state, event)
  }
}

/**
 * The supervisor's one decision function: the next state after `event`, and the effects to run. Pure
 * and total: it never throws, and an event that does not apply in `state` leaves it as it is (with a
 * debug log effect). `Exited` ignores everything.
 *
 * @param state - the supervisor's state
 * @param event - what happened
 * @returns the next state, and the effects to run, in order
 *
 * @example
 * Two workers start and serve:
 * ```ts
 * import { initial, reduce } from 'uninterruptible/supervisor'
 *
 * const [starting, spawn] = reduce(initial(2), { _tag: 'Start' })
 * // spawn has { _tag: 'SpawnWorker', id: 1, slot: 0, generation: 1 } and the same for id 2, slot 1
 * const [one] = reduce(starting, { _tag: 'WorkerReady', id: 1, pid: 101 })
 * const [running, effects] = reduce(one, { _tag: 'WorkerReady', id: 2, pid: 102 })
 * // running._tag === 'Running'; effects has { _tag: 'AnnounceServing', generation: 1, pids: [101, 102] }
 * ```
 */
export const reduce = (state: State, event: Event): Step => (state._tag === 'Exited' ? [state, []] : recorded(step(state, event)))
