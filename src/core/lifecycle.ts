/**
 * Lifecycle: the server's state machine as one pure reducer. `reduce(state, event)` returns the next
 * state and the effects to run, as plain data (no closures) so they can be compared in tests. An event
 * that is not allowed in a state yields a log effect, never a throw.
 *
 *   Listening --restart--> Restarting --ready--> Probation --passed--> Draining(handoff) --drained--> Exited
 *       ^                      |                    |
 *       +------failed----------+----crashed---------+      any --stop--> Draining(stop) --drained / 2nd stop--> Exited
 *
 * Probation: the successor is ready and serves, and this process keeps accepting beside it for
 * `probationMs`; a successor that dies meanwhile leaves this process serving as before (new code that
 * crashes right after it starts never takes the service down). A drain ends only once the listener has
 * really closed (ListenerClosed) and no connection is open: until the close is done, the listener may
 * still accept, and those connections must be served too.
 */
import * as O from 'fp-ts/Option'
import * as C from './counter'
import type { Counter } from './counter'
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

/** Why a process drains: `handoff`, a successor serves in its place; `stop`, the server (or this worker) is stopping. */
export type DrainReason = 'handoff' | 'stop'

/** What every {@link State} carries, whatever its tag. */
export interface StateBase {
  /** The connections this process has accepted: open now, and in all. */
  readonly connections: Counter
  /** Restart attempts so far; the next one is numbered `attempts + 1`. */
  readonly attempts: number
  /** This process's generation (its successor's is one more). */
  readonly generation: number
  /** How the last restart ended (a refusal is not one): what a status reports. */
  readonly lastRestart: O.Option<RestartOutcome>
}

/** Serving, with no restart in progress: the state a process starts in ({@link initial}). */
export interface Listening extends StateBase {
  /** Which state this is. */
  readonly _tag: 'Listening'
}
/** A successor has been started ({@link Effect} `SpawnSuccessor`) and is not ready yet; this process serves meanwhile. */
export interface Restarting extends StateBase {
  /** Which state this is. */
  readonly _tag: 'Restarting'
  /** The number of this restart attempt; the successor's events carry it, and events of another attempt are ignored. */
  readonly attempt: number
  /** Who asked for this restart (control requests get its outcome). */
  readonly by: readonly RestartBy[]
  /** How many times this attempt's successor was started again after a signal killed it while Node booted. */
  readonly respawns: number
}
/**
 * The successor is ready and serves beside this process, which goes on accepting for `probationMs`
 * (until ProbationPassed). A successor that dies meanwhile leaves this process serving as before.
 */
export interface Probation extends StateBase {
  /** Which state this is. */
  readonly _tag: 'Probation'
  /** The number of this restart attempt. */
  readonly attempt: number
  /** The ready successor's pid. */
  readonly successorPid: number
  /** Who asked for this restart (control requests get its outcome). */
  readonly by: readonly RestartBy[]
}
/** Whether a successor serves on beside this draining process (it was released), or none does. */
export type Successor = 'serves' | 'none'

/** The listener: still closing (it may still accept, so the drain cannot end yet), or closed (ListenerClosed). */
export type ListenerState = 'closing' | 'closed'

/** What the next stop signal does: the first only says a second one forces; after one, the next exits at once. */
export type OnStopSignal = 'keep-draining' | 'exit-now'

/**
 * Not accepting any more: the open connections finish. The process exits once the listener has closed
 * and the last connection with it, at `drainTimeoutMs`, or at once on a second stop signal.
 */
export interface Draining extends StateBase {
  /** Which state this is. */
  readonly _tag: 'Draining'
  /** Why it drains. */
  readonly reason: DrainReason
  /** `none`: this process is the last to accept (a final stop): what only the last may remove goes with it. */
  readonly successor: Successor
  /** Whether the listener has closed yet. */
  readonly listener: ListenerState
  /** What the next stop signal does. */
  readonly onStopSignal: OnStopSignal
}
/** Done: the process exits with `code` (an `Exit` effect said so); every event is ignored from now on. */
export interface Exited extends StateBase {
  /** Which state this is. */
  readonly _tag: 'Exited'
  /** The exit code: 0 after a drain (even one ended by `drainTimeoutMs`), 130 or 143 after a second stop signal. */
  readonly code: number
}

/**
 * The state of a serving process (a standalone server, or a worker):
 * Listening, then on a restart Restarting, Probation, and Draining (a handoff), then Exited.
 * A failed successor goes back to Listening; a stop drains from any state.
 *
 * @remarks
 * New states may come in a minor release: give a `switch` over `_tag` a default branch.
 */
export type State = Listening | Restarting | Probation | Draining | Exited

/**
 * A process of `generation` that serves; `madeBy`: the pid of this process when a restart made it (a
 * standalone successor), whose status then names that restart the last one.
 */
export const initial = (generation: number, madeBy: O.Option<number> = O.none): State => ({
  _tag: 'Listening',
  connections: C.empty,
  attempts: 0,
  generation,
  lastRestart: O.map((pid: number): RestartOutcome => ({ _tag: 'Restarted', generation, pids: [pid] }))(madeBy),
})

// ---- events ------------------------------------------------------------------------------------

/** How a successor failed: the same as {@link ChildFailure}. */
export type SuccessorFailure = ChildFailure

/**
 * Who asked this process to stop: a signal; its supervisor (a worker); nobody any more (a worker whose
 * supervisor is gone); a control request. Only a second stop signal forces an exit.
 */
export type StopBy = StopSignal | 'supervisor' | 'supervisor-gone' | 'control'

const isSignal = (by: StopBy): by is StopSignal => by === 'SIGTERM' || by === 'SIGINT'

/**
 * What happens to a serving process, as the library reports it to {@link reduce}: requests (a restart
 * signal or control request, a stop), news of the successor (`attempt` names the restart attempt it
 * belongs to), connections opening and closing, and the drain's progress. An event that does not apply
 * in a state is ignored, with a debug log effect (`event-ignored`).
 *
 * @remarks
 * New events may come in a minor release: give a `switch` over `_tag` a default branch.
 */
export type Event =
  /** A restart signal or a control request asks for a restart. */
  | { readonly _tag: 'RestartRequested'; readonly by: RestartBy }
  /** A stop signal, the supervisor, or a control request asks this process to stop. */
  | { readonly _tag: 'StopRequested'; readonly by: StopBy }
  /** The successor of restart `attempt`, pid `pid`, is ready and serves. */
  | { readonly _tag: 'SuccessorReady'; readonly attempt: number; readonly pid: number }
  /** The successor could not be started, or exited or timed out before it was ready (`pid`: null if it never started). */
  | { readonly _tag: 'SuccessorFailed'; readonly attempt: number; readonly pid: number | null; readonly failure: SuccessorFailure }
  /** The successor exited after it was ready (only reported while it is on probation). */
  | { readonly _tag: 'SuccessorExited'; readonly attempt: number; readonly pid: number; readonly code: number | null; readonly signal: string | null }
  /** `probationMs` have passed since the successor was ready (after a StartProbation effect). */
  | { readonly _tag: 'ProbationPassed'; readonly attempt: number }
  /** A connection was accepted. */
  | { readonly _tag: 'ConnectionOpened' }
  /** An accepted connection's socket has closed. */
  | { readonly _tag: 'ConnectionClosed' }
  /** The listener has closed (after a StopAccepting effect): it accepts no more. */
  | { readonly _tag: 'ListenerClosed' }
  /** The drain has taken `drainTimeoutMs`. */
  | { readonly _tag: 'DrainTimedOut' }
  /** Nothing is left that could wake the process (the event loop is empty) while connections are open. */
  | { readonly _tag: 'DrainStalled' }

// ---- effects -----------------------------------------------------------------------------------

export type { LogLevel }

/**
 * What the reducer asks the library to do, as plain data: start, stop, kill or let go of a successor,
 * time its probation, stop accepting, close connections, exit, answer control requests, and log. The
 * library runs them in the order given; the ones that take time report back with an `Event`.
 *
 * @remarks
 * New effects may come in a minor release: give a `switch` over `_tag` a default branch.
 */
export type Effect =
  /** Start a successor for restart `attempt` (the configured `startCommand`, or this process's command line again); it reports SuccessorReady or SuccessorFailed. */
  | { readonly _tag: 'SpawnSuccessor'; readonly attempt: number }
  /** Kill the successor and everything it started (its process group): it failed. */
  | { readonly _tag: 'KillSuccessor'; readonly attempt: number }
  /** Ask a successor still starting to stop (SIGTERM; killed at exit if still there): we are stopping. */
  | { readonly _tag: 'StopSuccessor'; readonly attempt: number }
  /** The successor is ready: after `probationMs` report ProbationPassed (its death before then is reported). */
  | { readonly _tag: 'StartProbation'; readonly attempt: number }
  /** The successor has taken over: stop watching it and let it live on without us. */
  | { readonly _tag: 'ReleaseSuccessor'; readonly attempt: number }
  /** A successor may have written its pid before failing: make the pidfile name this process again. */
  | { readonly _tag: 'RestorePidfile' }
  /**
   * Close the listener, then report ListenerClosed. When `final` (nobody else will accept: a stop with no
   * successor serving) first remove the UNIX socket file (if still ours) and accept what is queued.
   */
  | { readonly _tag: 'StopAccepting'; readonly reason: DrainReason; readonly final: boolean }
  /** Close every connection still open, at once (a drain timed out or stalled). */
  | { readonly _tag: 'DestroyConnections' }
  /**
   * End the process with `code`; `now`: at once (a second stop signal), without the application's exit
   * hook. `final`: no successor serves on (as in StopAccepting), so the control socket's file goes too.
   */
  | { readonly _tag: 'Exit'; readonly code: number; readonly now: boolean; readonly final: boolean }
  /** A restart ended: its outcome goes to the control requests that asked for it (if any), and on record. */
  | AnswerEffect
  /** Write a log line. */
  | LogEffect

/** What {@link reduce} gives: the next state, and the effects to run, in order. */
export type Step = readonly [State, readonly Effect[]]

export { MAX_BOOT_RESPAWNS }

/** The effect list of most steps (every connection opened or closed): shared, never mutated. */
const NONE: readonly Effect[] = Object.freeze([])

export { log }

// ---- reducer -----------------------------------------------------------------------------------

const ignore = (state: State, event: Event, why: string): Step => [
  state,
  [log('debug', 'event-ignored', `${event._tag} ignored: ${why}`, { state: state._tag, eventType: event._tag })],
]

/** The same state with other counts; one literal per variant keeps this hot path monomorphic. */
const withConnections = (state: Exclude<State, Exited>, connections: C.Counter): State => {
  switch (state._tag) {
    case 'Listening':
      return { _tag: 'Listening', connections, attempts: state.attempts, generation: state.generation, lastRestart: state.lastRestart }
    case 'Restarting':
      return { _tag: 'Restarting', connections, attempts: state.attempts, generation: state.generation, lastRestart: state.lastRestart, attempt: state.attempt, by: state.by, respawns: state.respawns }
    case 'Probation':
      return { _tag: 'Probation', connections, attempts: state.attempts, generation: state.generation, lastRestart: state.lastRestart, attempt: state.attempt, successorPid: state.successorPid, by: state.by }
    case 'Draining':
      return {
        _tag: 'Draining',
        connections,
        attempts: state.attempts,
        generation: state.generation,
        lastRestart: state.lastRestart,
        reason: state.reason,
        successor: state.successor,
        listener: state.listener,
        onStopSignal: state.onStopSignal,
      }
  }
}

/** Connection bookkeeping is the same in every live state. It runs twice per connection. */
const count = (state: Exclude<State, Exited>, event: { readonly _tag: 'ConnectionOpened' | 'ConnectionClosed' }): Step => {
  if (event._tag === 'ConnectionOpened') return [withConnections(state, C.opened(state.connections)), NONE]
  const next = C.closed(state.connections)
  return O.isSome(next)
    ? [withConnections(state, next.value), NONE]
    : [state, [log('error', 'counter-underflow', 'a connection closed while none was counted open; this is a bug')]]
}

/**
 * The listener starts closing. `successor`: `none` when this process is the last to accept (see
 * StopAccepting). `lastRestart`: what the step that drains has left.
 */
const startDraining = (state: State, reason: DrainReason, successor: Successor, lastRestart: O.Option<RestartOutcome>, before: readonly Effect[], by?: StopBy): Step => [
  {
    _tag: 'Draining',
    connections: state.connections,
    attempts: state.attempts,
    generation: state.generation,
    lastRestart,
    reason,
    successor,
    listener: 'closing',
    onStopSignal: by !== undefined && isSignal(by) ? 'exit-now' : 'keep-draining',
  },
  [
    ...before,
    { _tag: 'StopAccepting', reason, final: successor === 'none' },
    log('info', 'draining', `stopping accepting; draining ${state.connections.active} open connection(s)`, {
      reason,
      active: state.connections.active,
    }),
  ],
]

const exited = (state: Draining, code: number): Exited => ({
  _tag: 'Exited',
  connections: state.connections,
  attempts: state.attempts,
  generation: state.generation,
  lastRestart: state.lastRestart,
  code,
})

const exit = (state: Draining, code: number, now: boolean): Effect => ({ _tag: 'Exit', code, now, final: state.successor === 'none' })

/** A drain whose listener is closed and whose count has reached zero ends the process. */
const settle = ([state, effects]: Step): Step =>
  state._tag === 'Draining' && state.listener === 'closed' && C.isDrained(state.connections)
    ? [
        exited(state, 0),
        [...effects, log('info', 'drained', 'all connections closed', { reason: state.reason, accepted: state.connections.accepted }), exit(state, 0, false)],
      ]
    : [state, effects]

const failed = (attempt: number, pid: number | null, failure: SuccessorFailure): Effect =>
  log('error', 'successor-failed', `restart attempt ${attempt} failed: the successor ${describeFailure(failure)}; still serving`, {
    attempt,
    successorPid: pid,
    ...failureFields(failure),
  })

/** How a restart ended, for those who asked (the step that emits it records it in `lastRestart`). */
const answer = (by: readonly RestartBy[], outcome: RestartOutcome): readonly Effect[] => [{ _tag: 'Answer', requests: requestIds(by), outcome }]

const failedOutcome = (state: Restarting | Probation, failure: SuccessorFailure): RestartOutcome => ({
  _tag: 'RestartFailed',
  generation: state.generation + 1,
  reason: failedBecause('the new process', failure),
  failure,
  stopping: false,
})

const stopRequested = (by: StopBy): Effect => {
  switch (by) {
    case 'supervisor':
      return log('info', 'stop-requested', 'the supervisor asked this worker to stop', { by })
    case 'supervisor-gone':
      return log('warn', 'stop-requested', 'the supervisor is gone (its end of the channel closed): stopping', { by })
    case 'control':
      return log('info', 'stop-requested', 'a control request asked this server to stop', { by })
    default:
      return log('info', 'stop-requested', `${by} received: stopping`, { signal: by })
  }
}

const onListening = (state: Listening, event: Event): Step => {
  switch (event._tag) {
    case 'RestartRequested': {
      const attempt = state.attempts + 1
      return [
        { _tag: 'Restarting', connections: state.connections, attempts: attempt, generation: state.generation, lastRestart: state.lastRestart, attempt, by: [event.by], respawns: 0 },
        [
          log('info', 'restart-requested', `${asker(event.by)}: starting a successor`, { ...askerFields(event.by), attempt }),
          { _tag: 'SpawnSuccessor', attempt },
        ],
      ]
    }
    case 'StopRequested':
      return startDraining(state, 'stop', 'none', state.lastRestart, [stopRequested(event.by)], event.by)
    case 'ConnectionOpened':
    case 'ConnectionClosed':
      return count(state, event)
    case 'SuccessorReady':
    case 'SuccessorFailed':
    case 'SuccessorExited':
    case 'ProbationPassed':
      return ignore(state, event, `attempt ${event.attempt} is no longer in progress`)
    case 'ListenerClosed':
    case 'DrainTimedOut':
    case 'DrainStalled':
      return ignore(state, event, 'not draining')
  }
}

const onRestarting = (state: Restarting, event: Event): Step => {
  switch (event._tag) {
    case 'RestartRequested':
      return [state, refuse(event.by, `restart attempt ${state.attempt} is in progress`, { attempt: state.attempt })]
    case 'StopRequested': {
      const outcome: RestartOutcome = { _tag: 'RestartFailed', generation: state.generation + 1, reason: 'the server is stopping', failure: null, stopping: true }
      return startDraining(state, 'stop', 'none', O.some(outcome), [
        stopRequested(event.by),
        { _tag: 'StopSuccessor', attempt: state.attempt },
        { _tag: 'RestorePidfile' },
        log('warn', 'successor-stopped', `restart attempt ${state.attempt} abandoned: stop requested`, { attempt: state.attempt }),
        ...answer(state.by, outcome),
      ], event.by)
    }
    case 'SuccessorReady':
      if (event.attempt !== state.attempt) return ignore(state, event, `attempt ${state.attempt} is in progress`)
      return [
        { _tag: 'Probation', connections: state.connections, attempts: state.attempts, generation: state.generation, lastRestart: state.lastRestart, attempt: state.attempt, successorPid: event.pid, by: state.by },
        [
          log('info', 'successor-ready', `successor ${event.pid} is ready and serves; this process hands over once the successor has passed its probation`, {
            attempt: event.attempt,
            successorPid: event.pid,
          }),
          { _tag: 'StartProbation', attempt: event.attempt },
        ],
      ]
    case 'SuccessorFailed':
      if (event.attempt !== state.attempt) return ignore(state, event, `attempt ${state.attempt} is in progress`)
      if (killedWhileBooting(event.failure) && state.respawns < MAX_BOOT_RESPAWNS) {
        const respawns = state.respawns + 1
        return [
          { ...state, respawns },
          [
            { _tag: 'KillSuccessor', attempt: state.attempt },
            log('warn', 'killed-while-booting', `successor ${String(event.pid)} ${describeFailure(event.failure)}, while Node was still starting (before JavaScript can listen for it): starting it again (${respawns} of ${MAX_BOOT_RESPAWNS})`, {
              attempt: state.attempt,
              successorPid: event.pid,
              ...failureFields(event.failure),
            }),
            { _tag: 'SpawnSuccessor', attempt: state.attempt },
          ],
        ]
      }
      return crashed(state, event.pid, event.failure)
    case 'ConnectionOpened':
    case 'ConnectionClosed':
      return count(state, event)
    case 'SuccessorExited':
    case 'ProbationPassed':
      return ignore(state, event, `attempt ${state.attempt} is not ready yet`)
    case 'ListenerClosed':
    case 'DrainTimedOut':
    case 'DrainStalled':
      return ignore(state, event, 'not draining')
  }
}

/** The new process failed, starting or on probation: it is killed, the pidfile is ours again, and this process serves on. */
const crashed = (state: Restarting | Probation, pid: number | null, crash: SuccessorFailure): Step => {
  const outcome = failedOutcome(state, crash)
  return [
    { _tag: 'Listening', connections: state.connections, attempts: state.attempts, generation: state.generation, lastRestart: O.some(outcome) },
    [{ _tag: 'KillSuccessor', attempt: state.attempt }, { _tag: 'RestorePidfile' }, failed(state.attempt, pid, crash), ...answer(state.by, outcome)],
  ]
}

const onProbation = (state: Probation, event: Event): Step => {
  const { attempt, successorPid } = state
  const restarted: RestartOutcome = { _tag: 'Restarted', generation: state.generation + 1, pids: [successorPid] }
  switch (event._tag) {
    case 'RestartRequested':
      return [state, refuse(event.by, `successor ${successorPid} of restart attempt ${attempt} is on probation`, { attempt })]
    case 'StopRequested':
      // the successor serves on: this process only drains, and leaves the shared socket file alone
      return startDraining(state, 'stop', 'serves', O.some(restarted), [
        stopRequested(event.by),
        { _tag: 'ReleaseSuccessor', attempt },
        log('info', 'successor-released', `successor ${successorPid} serves on without its probation`, { attempt, successorPid }),
        ...answer(state.by, restarted),
      ], event.by)
    case 'ProbationPassed':
      if (event.attempt !== attempt) return ignore(state, event, `attempt ${attempt} is on probation`)
      return startDraining(state, 'handoff', 'serves', O.some(restarted), [
        { _tag: 'ReleaseSuccessor', attempt },
        log('info', 'handed-over', `successor ${successorPid} passed its probation; handing over`, { attempt, successorPid }),
        ...answer(state.by, restarted),
      ])
    case 'SuccessorExited':
      if (event.attempt !== attempt) return ignore(state, event, `attempt ${attempt} is on probation`)
      if (event.code === 0 && event.signal === null) {
        // it stopped on request (a stop signal sent by the pidfile, which names it): this process follows
        const outcome: RestartOutcome = { _tag: 'RestartFailed', generation: state.generation + 1, reason: 'the new process was stopped during its probation; the server is stopping', failure: null, stopping: true }
        return startDraining(state, 'stop', 'serves', O.some(outcome), [
          { _tag: 'ReleaseSuccessor', attempt },
          log('warn', 'successor-exited', `successor ${successorPid} exited with code 0 during its probation (it was stopped); this process stops too`, {
            attempt,
            successorPid,
          }),
          ...answer(state.by, outcome),
        ])
      }
      return crashed(state, state.successorPid, { _tag: 'CrashedAfterReady', code: event.code, signal: event.signal })
    case 'ConnectionOpened':
    case 'ConnectionClosed':
      return count(state, event)
    case 'SuccessorReady':
    case 'SuccessorFailed':
      return ignore(state, event, `attempt ${attempt} is on probation`)
    case 'ListenerClosed':
    case 'DrainTimedOut':
    case 'DrainStalled':
      return ignore(state, event, 'not draining')
  }
}

const onDraining = (state: Draining, event: Event): Step => {
  switch (event._tag) {
    case 'RestartRequested':
      return [state, refuse(event.by, 'this process is draining', { reason: state.reason })]
    case 'StopRequested': {
      // only a second stop *signal* forces: a drain begun by a handoff, the supervisor or a control request goes on
      const { by } = event
      if (!isSignal(by)) return ignore(state, event, 'already draining')
      if (state.onStopSignal === 'keep-draining') {
        return [
          { ...state, reason: 'stop', onStopSignal: 'exit-now' },
          [log('info', 'stop-requested', `${by} received: already draining (${state.reason === 'handoff' ? 'after a handoff' : 'as asked'}); a second stop signal exits at once`, { signal: by })],
        ]
      }
      return [
        exited(state, forcedExitCode(by)),
        [
          log('warn', 'forced-exit', `second stop signal (${by}): exiting now with ${state.connections.active} connection(s) open`, {
            signal: by,
            active: state.connections.active,
          }),
          exit(state, forcedExitCode(by), true),
        ],
      ]
    }
    case 'ConnectionOpened':
    case 'ConnectionClosed':
      return settle(count(state, event))
    case 'ListenerClosed':
      return settle([{ ...state, listener: 'closed' }, NONE])
    case 'DrainStalled':
      if (state.listener === 'closing') return ignore(state, event, 'the listener is still closing')
      return [
        state,
        [
          log('warn', 'drain-stalled', `nothing can happen any more on ${state.connections.active} open connection(s) (their handlers neither read nor finish): closing them`, {
            active: state.connections.active,
          }),
          { _tag: 'DestroyConnections' },
        ],
      ]
    case 'SuccessorReady':
    case 'SuccessorFailed':
    case 'SuccessorExited':
    case 'ProbationPassed':
      return ignore(state, event, 'draining')
    case 'DrainTimedOut':
      return [
        exited(state, 0),
        [
          log('warn', 'drain-timeout', `drain timeout: closing ${state.connections.active} connection(s) still open`, {
            active: state.connections.active,
          }),
          { _tag: 'DestroyConnections' },
          exit(state, 0, false),
        ],
      ]
  }
}

/**
 * The lifecycle's one decision function: the next state after `event`, and the effects to run. Pure and
 * total: it never throws, and an event that does not apply in `state` leaves it as it is (with a debug
 * log effect). `Exited` ignores everything.
 *
 * @param state - the process's state
 * @param event - what happened
 * @returns the next state, and the effects to run, in order
 *
 * @example
 * A restart that goes well: the successor is started, is ready, passes its probation, and this process
 * drains.
 * ```ts
 * import { initial, reduce } from 'uninterruptible/lifecycle'
 *
 * const [restarting, started] = reduce(initial(), { _tag: 'RestartRequested', by: { _tag: 'Signal', signal: 'SIGUSR1' } })
 * // started has { _tag: 'SpawnSuccessor', attempt: 1 }
 * const [probation] = reduce(restarting, { _tag: 'SuccessorReady', attempt: 1, pid: 4242 })
 * const [draining, effects] = reduce(probation, { _tag: 'ProbationPassed', attempt: 1 })
 * // draining._tag === 'Draining'; effects has ReleaseSuccessor, StopAccepting and the Answer
 * ```
 */
export const reduce = (state: State, event: Event): Step => {
  switch (state._tag) {
    case 'Listening':
      return onListening(state, event)
    case 'Restarting':
      return onRestarting(state, event)
    case 'Probation':
      return onProbation(state, event)
    case 'Draining':
      return onDraining(state, event)
    case 'Exited':
      return [state, []]
  }
}
