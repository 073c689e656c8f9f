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
 * while no worker runs, clients wait in the kernel's queue.
 */
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

/** A worker is starting, ready (serving), or stopping (asked to drain, or killed): gone once its exit is seen. */
export type WorkerPhase = 'starting' | 'ready' | 'stopping'

export interface Worker {
  readonly id: number
  readonly slot: number
  readonly generation: number
  readonly pid: number | null
  readonly phase: WorkerPhase
}

/** A generation being started: the first one, or a restart's. */
export interface Pending {
  readonly generation: number
  readonly by: readonly RestartBy[]
  /** Every worker of it is ready; it serves beside the old one until its probation has passed. */
  readonly probation: boolean
  /** How many of its workers were started again after a signal killed them while Node booted. */
  readonly respawns: number
}

/**
 * A restart whose new generation serves, told to those who asked only once no old worker accepts any
 * more (each has said it closed its listeners, or is gone): from then on every new connection reaches
 * the new code.
 */
export interface Confirming {
  readonly requests: readonly number[]
  readonly outcome: RestartOutcome
  /** The old workers not yet known to have stopped accepting. */
  readonly waiting: readonly number[]
}

export type Phase = 'Starting' | 'Running' | 'Stopping' | 'Exited'

export interface State {
  readonly phase: Phase
  /** How many workers a generation has. */
  readonly size: number
  /** The generation that serves; 0 until the first is ready. */
  readonly current: number
  readonly pending: Pending | null
  /** The last generation number given out (a failed generation's number is not given again). */
  readonly generations: number
  /** Every worker process still alive, whatever its generation. */
  readonly workers: readonly Worker[]
  readonly nextId: number
  /** Per slot of the serving generation: how many times in a row its worker died soon after starting. */
  readonly crashes: readonly number[]
  /** The code to exit with once the last worker is gone. */
  readonly code: number
  readonly confirming: readonly Confirming[]
}

export const initial = (size: number): State => ({
  phase: 'Starting',
  size,
  current: 0,
  pending: null,
  generations: 0,
  workers: [],
  nextId: 1,
  crashes: Array.from({ length: size }, () => 0),
  code: 0,
  confirming: [],
})

// ---- events and effects ---------------------------------------------------------------------------

export type Event =
  | { readonly _tag: 'Start' }
  | { readonly _tag: 'RestartRequested'; readonly by: RestartBy }
  /** By a signal, or by a control request (only a second signal forces). */
  | { readonly _tag: 'StopRequested'; readonly by: StopSignal | 'control' }
  | { readonly _tag: 'WorkerReady'; readonly id: number; readonly pid: number }
  /** It could not be started, or exited or timed out before it was ready. */
  | { readonly _tag: 'WorkerFailed'; readonly id: number; readonly pid: number | null; readonly failure: ChildFailure }
  /** It exited after it was ready, `upMs` after it started. */
  | { readonly _tag: 'WorkerExited'; readonly id: number; readonly pid: number; readonly code: number | null; readonly signal: string | null; readonly upMs: number }
  /** A worker asked to stop has closed its listeners. */
  | { readonly _tag: 'WorkerDraining'; readonly id: number }
  | { readonly _tag: 'ProbationPassed'; readonly generation: number }
  | { readonly _tag: 'RespawnDue'; readonly slot: number; readonly generation: number }

export type { LogLevel }

export type Effect =
  | { readonly _tag: 'SpawnWorker'; readonly id: number; readonly slot: number; readonly generation: number }
  /** Ask it to drain and exit. */
  | { readonly _tag: 'StopWorker'; readonly id: number }
  /** SIGKILL it with everything it started. */
  | { readonly _tag: 'KillWorker'; readonly id: number }
  /** After `probationMs`, report ProbationPassed. */
  | { readonly _tag: 'StartProbation'; readonly generation: number }
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
  | { readonly _tag: 'Exit'; readonly code: number; readonly now: boolean }
  | LogEffect

export type Step = readonly [State, readonly Effect[]]

// ---- respawn backoff ------------------------------------------------------------------------------

/** A worker that served this long before it died was not in a crash loop: its slot's count starts again. */
export const STABLE_MS = 10_000
const RESPAWN_FIRST_MS = 100
export const RESPAWN_MAX_MS = 30_000

/** The delay before respawning a slot whose worker died `crashes` times in a row: 100 ms, doubling, at most 30 s. */
export const respawnDelay = (crashes: number): number => Math.min(RESPAWN_MAX_MS, RESPAWN_FIRST_MS * 2 ** Math.max(0, crashes - 1))

// ---- helpers ----------------------------------------------------------------------------------------


const ignore = (state: State, event: Event, why: string): Step => [
  state,
  [log('debug', 'event-ignored', `${event._tag} ignored: ${why}`, { phase: state.phase, eventType: event._tag })],
]

const byId = (state: State, id: number): Worker | undefined => state.workers.find((w) => w.id === id)
const without = (state: State, id: number): readonly Worker[] => state.workers.filter((w) => w.id !== id)
const ofGeneration = (state: State, generation: number): readonly Worker[] => state.workers.filter((w) => w.generation === generation)
const setPhase = (workers: readonly Worker[], ids: readonly number[], phase: WorkerPhase): readonly Worker[] =>
  workers.map((w) => (ids.includes(w.id) ? { ...w, phase } : w))

/** Starts `size` workers of a generation. */
const spawnGeneration = (state: State, generation: number): { readonly workers: readonly Worker[]; readonly nextId: number; readonly effects: readonly Effect[] } => {
  const fresh = Array.from({ length: state.size }, (_, slot): Worker => ({ id: state.nextId + slot, slot, generation, pid: null, phase: 'starting' }))
  return {
    workers: [...state.workers, ...fresh],
    nextId: state.nextId + state.size,
    effects: fresh.map((w): Effect => ({ _tag: 'SpawnWorker', id: w.id, slot: w.slot, generation })),
  }
}

/** The failure of a worker, as what happened to it: a ready worker that exited crashed after it was ready. */
const failureOf = (event: Extract<Event, { _tag: 'WorkerFailed' | 'WorkerExited' }>): ChildFailure =>
  event._tag === 'WorkerFailed' ? event.failure : { _tag: 'CrashedAfterReady', code: event.code, signal: event.signal }

/** Once nothing is left alive while stopping, the process exits. */
const settle = ([state, effects]: Step): Step =>
  state.phase === 'Stopping' && state.workers.length === 0
    ? [{ ...state, phase: 'Exited' }, [...effects, { _tag: 'Exit', code: state.code, now: false }]]
    : [state, effects]

const answerOf = (c: Confirming): Effect => ({ _tag: 'Answer', requests: c.requests, outcome: c.outcome })

/** Worker `id` accepts no more (it said so, or it is gone): the restarts waiting only for it are answered. */
const confirmed = ([state, effects]: Step, id: number): Step => {
  if (!state.confirming.some((c) => c.waiting.includes(id))) return [state, effects]
  const confirming = state.confirming.map((c) => ({ ...c, waiting: c.waiting.filter((w) => w !== id) }))
  return [{ ...state, confirming: confirming.filter((c) => c.waiting.length > 0) }, [...effects, ...confirming.filter((c) => c.waiting.length === 0).map(answerOf)]]
}

/**
 * Stop everything: the socket files go first (new clients find no path), this process lets go of the
 * sockets, then every worker drains: the sockets close with the last worker's listeners.
 */
const stopAll = (state: State, code: number, before: readonly Effect[]): Step => {
  const alive = state.workers.filter((w) => w.phase !== 'stopping')
  const abandoned: readonly Effect[] =
    state.pending !== null && state.pending.by.length > 0
      ? [{ _tag: 'Answer', requests: requestIds(state.pending.by), outcome: { _tag: 'RestartFailed', generation: state.pending.generation, reason: 'the server is stopping', failure: null, stopping: true } }]
      : []
  return settle([
    { ...state, phase: 'Stopping', pending: null, code, workers: setPhase(state.workers, alive.map((w) => w.id), 'stopping'), confirming: [] },
    [
      ...before,
      ...abandoned,
      ...state.confirming.map(answerOf),
      { _tag: 'RemoveSocketFiles' },
      { _tag: 'CloseSockets' },
      ...alive.map((w): Effect => ({ _tag: 'StopWorker', id: w.id })),
    ],
  ])
}

/**
 * A worker of the pending generation failed: the whole generation goes, the serving one stays. A worker
 * of it that is ready has accepted connections: it drains them, as an old worker does; one still
 * starting has none, and is killed with what it started.
 */
const abandonPending = (state: State, pending: Pending, failed: Worker, pid: number | null, failure: ChildFailure): Step => {
  const others = ofGeneration(state, pending.generation).filter((w) => w.id !== failed.id && w.phase !== 'stopping')
  const starting = others.filter((w) => w.phase === 'starting')
  const ready = others.filter((w) => w.phase === 'ready')
  const killed = starting.map((w): Effect => ({ _tag: 'KillWorker', id: w.id }))
  const reason = failedBecause(pid !== null ? `worker ${failed.slot} (pid ${pid})` : `worker ${failed.slot}`, failure)
  if (state.phase === 'Starting') {
    // the ready ones drain with the rest of the stop
    return stopAll({ ...state, workers: setPhase(without(state, failed.id), starting.map((w) => w.id), 'stopping') }, 1, [
      log('error', 'start-failed', `generation 1 could not start: ${reason}`, { generation: pending.generation, worker: failed.slot, ...failureFields(failure) }),
      ...killed,
    ])
  }
  return [
    { ...state, pending: null, workers: setPhase(without(state, failed.id), others.map((w) => w.id), 'stopping') },
    [
      ...killed,
      ...ready.map((w): Effect => ({ _tag: 'StopWorker', id: w.id })),
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
const respawnBooting = (state: State, pending: Pending, dead: Worker, pid: number | null, failure: ChildFailure): Step => {
  const respawns = pending.respawns + 1
  const fresh: Worker = { id: state.nextId, slot: dead.slot, generation: dead.generation, pid: null, phase: 'starting' }
  return [
    { ...state, pending: { ...pending, respawns }, workers: [...without(state, dead.id), fresh], nextId: state.nextId + 1 },
    [
      { _tag: 'KillWorker', id: dead.id },
      log('warn', 'killed-while-booting', `worker ${dead.slot} of generation ${dead.generation}${pid !== null ? ` (pid ${pid})` : ''} ${describeFailure(failure)}, while Node was still starting (before JavaScript can listen for it): starting it again (${respawns} of ${MAX_BOOT_RESPAWNS})`, {
        worker: dead.slot,
        generation: dead.generation,
        workerPid: pid,
        ...failureFields(failure),
      }),
      { _tag: 'SpawnWorker', id: fresh.id, slot: fresh.slot, generation: fresh.generation },
    ],
  ]
}

// ---- reducer ----------------------------------------------------------------------------------------

const onReady = (state: State, event: Extract<Event, { _tag: 'WorkerReady' }>): Step => {
  const w = byId(state, event.id)
  if (w?.phase !== 'starting') return ignore(state, event, 'not a starting worker')
  const ready = { ...state, workers: state.workers.map((x) => (x.id === w.id ? { ...x, pid: event.pid, phase: 'ready' as const } : x)) }
  const { pending } = state
  if (pending !== null && w.generation === pending.generation) {
    const all = ofGeneration(ready, pending.generation)
    if (all.length < state.size || all.some((x) => x.phase !== 'ready')) return [ready, [log('debug', 'worker-ready', `worker ${w.slot} of generation ${w.generation} is ready`, { worker: w.slot, workerPid: event.pid })]]
    const pids = all.map((x) => x.pid ?? 0)
    if (state.phase === 'Starting') {
      return [
        { ...ready, phase: 'Running', current: pending.generation, pending: null },
        [log('info', 'generation-ready', `generation ${pending.generation} serves: ${state.size} worker(s)`, { generation: pending.generation }), { _tag: 'AnnounceServing', generation: pending.generation, pids }],
      ]
    }
    return [
      { ...ready, pending: { ...pending, probation: true } },
      [
        log('info', 'generation-ready', `generation ${pending.generation} is ready (pids ${pids.join(', ')}) and serves beside generation ${state.current} for its probation`, {
          generation: pending.generation,
        }),
        { _tag: 'StartProbation', generation: pending.generation },
      ],
    ]
  }
  return [ready, [log('info', 'worker-ready', `worker ${w.slot} of generation ${w.generation} is ready again (pid ${event.pid})`, { worker: w.slot, workerPid: event.pid })]]
}

const onGone = (state: State, event: Extract<Event, { _tag: 'WorkerFailed' | 'WorkerExited' }>): Step => {
  const w = byId(state, event.id)
  if (w === undefined) return ignore(state, event, 'no such worker')
  const failure = failureOf(event)
  if (w.phase === 'stopping') {
    const how = event._tag === 'WorkerExited' ? { exitCode: event.code, signal: event.signal } : failureFields(failure)
    return settle([
      { ...state, workers: without(state, w.id) },
      [log('info', 'worker-exited', `worker ${w.slot} of generation ${w.generation} has exited`, { worker: w.slot, generation: w.generation, workerPid: w.pid, ...how })],
    ])
  }
  const { pending } = state
  if (pending !== null && w.generation === pending.generation) {
    if (w.phase === 'starting' && killedWhileBooting(failure) && pending.respawns < MAX_BOOT_RESPAWNS) return respawnBooting(state, pending, w, event.pid, failure)
    return abandonPending(state, pending, w, event.pid, failure)
  }
  if (state.phase !== 'Running' || w.generation !== state.current) return settle([{ ...state, workers: without(state, w.id) }, []])
  // a serving worker (or a respawned one still starting) died: respawn its slot, later each time it keeps dying
  const crashes = event._tag === 'WorkerExited' && event.upMs >= STABLE_MS ? 1 : (state.crashes[w.slot] ?? 0) + 1
  const delayMs = respawnDelay(crashes)
  return [
    { ...state, workers: without(state, w.id), crashes: state.crashes.map((c, slot) => (slot === w.slot ? crashes : c)) },
    [
      log('warn', 'worker-exited', `worker ${w.slot} of generation ${w.generation} (pid ${String(w.pid ?? event.pid)}) ${describeFailure(failure)}; respawning it in ${delayMs} ms`, {
        worker: w.slot,
        generation: w.generation,
        workerPid: w.pid ?? event.pid,
        crashes,
        delayMs,
        ...failureFields(failure),
      }),
      { _tag: 'ScheduleRespawn', slot: w.slot, generation: w.generation, delayMs },
    ],
  ]
}

const onRestart = (state: State, by: RestartBy): Step => {
  if (state.phase === 'Starting') return [state, refuse(by, 'the server is still starting')]
  if (state.phase !== 'Running') return [state, refuse(by, 'the server is stopping')]
  if (state.pending !== null) return [state, refuse(by, `a restart is in progress (generation ${state.pending.generation})`)]
  const generation = state.generations + 1
  const spawned = spawnGeneration(state, generation)
  return [
    { ...state, generations: generation, pending: { generation, by: [by], probation: false, respawns: 0 }, workers: spawned.workers, nextId: spawned.nextId },
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
  const { pending } = state
  if (state.phase !== 'Running' || pending?.probation !== true || pending.generation !== event.generation) return ignore(state, event, 'no generation on probation')
  const old = ofGeneration(state, state.current).filter((w) => w.phase !== 'stopping')
  const pids = ofGeneration(state, pending.generation).map((w) => w.pid ?? 0)
  const outcome: RestartOutcome = { _tag: 'Restarted', generation: pending.generation, pids }
  const confirming: Confirming = { requests: requestIds(pending.by), outcome, waiting: old.map((w) => w.id) }
  return [
    {
      ...state,
      current: pending.generation,
      pending: null,
      workers: setPhase(state.workers, old.map((w) => w.id), 'stopping'),
      crashes: state.crashes.map(() => 0),
      confirming: old.length > 0 ? [...state.confirming, confirming] : state.confirming,
    },
    [
      log('info', 'generation-replaced', `generation ${pending.generation} passed its probation and serves (pids ${pids.join(', ')}); generation ${state.current} drains`, {
        generation: pending.generation,
        replaced: state.current,
      }),
      ...old.map((w): Effect => ({ _tag: 'StopWorker', id: w.id })),
      ...(old.length > 0 ? [] : [answerOf(confirming)]),
    ],
  ]
}

const onRespawnDue = (state: State, event: Extract<Event, { _tag: 'RespawnDue' }>): Step => {
  if (state.phase !== 'Running' || event.generation !== state.current) return ignore(state, event, 'that generation no longer serves')
  if (state.workers.some((w) => w.generation === state.current && w.slot === event.slot && w.phase !== 'stopping')) return ignore(state, event, 'the slot has a worker')
  const w: Worker = { id: state.nextId, slot: event.slot, generation: state.current, pid: null, phase: 'starting' }
  return [
    { ...state, workers: [...state.workers, w], nextId: state.nextId + 1 },
    [log('info', 'worker-respawn', `respawning worker ${w.slot} of generation ${w.generation}`, { worker: w.slot, generation: w.generation }), { _tag: 'SpawnWorker', id: w.id, slot: w.slot, generation: w.generation }],
  ]
}

const onStop = (state: State, event: Extract<Event, { _tag: 'StopRequested' }>): Step => {
  const { by } = event
  if (state.phase === 'Stopping') {
    if (by === 'control') return ignore(state, event, 'already stopping')
    const signal = by
    const alive = state.workers
    return [
      { ...state, phase: 'Exited' },
      [
        log('warn', 'forced-exit', `second stop signal (${signal}): killing ${alive.length} worker(s) and exiting now`, { signal, workers: alive.length }),
        ...alive.map((w): Effect => ({ _tag: 'KillWorker', id: w.id })),
        { _tag: 'Exit', code: forcedExitCode(signal), now: true },
      ],
    ]
  }
  return stopAll(state, state.code, [
    by === 'control'
      ? log('info', 'stop-requested', 'a control request asked this server to stop; the workers drain', { by })
      : log('info', 'stop-requested', `${by} received: stopping; the workers drain`, { signal: by }),
  ])
}

export const reduce = (state: State, event: Event): Step => {
  if (state.phase === 'Exited') return [state, []]
  switch (event._tag) {
    case 'Start': {
      if (state.phase !== 'Starting' || state.generations > 0) return ignore(state, event, 'already started')
      const spawned = spawnGeneration(state, 1)
      return [
        { ...state, generations: 1, pending: { generation: 1, by: [], probation: false, respawns: 0 }, workers: spawned.workers, nextId: spawned.nextId },
        [log('info', 'generation-started', `starting generation 1: ${state.size} worker(s)`, { generation: 1 }), ...spawned.effects],
      ]
    }
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
