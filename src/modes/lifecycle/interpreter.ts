/**
 * Runs the lifecycle's effects: one exhaustive switch over the effects, over a record of OS capabilities
 * (`Os`, the whole OS boundary) that is passed in, so tests can pass fakes; the real one is built in
 * wiring.ts. This keeps only handles, keyed by what the reducer names them: the successor and its
 * probation timer per attempt, and the drain timer. Every decision is the reducer's (core/lifecycle.ts).
 * An effect that completes with an event returns it (the runtime dispatches it); OS events (a child's
 * ready or exit, a timer) are dispatched when they come. A failed effect is reported, never thrown: the
 * lifecycle goes on (see shell/effects.ts).
 */
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import type * as T from 'fp-ts/Task'
import * as TE from 'fp-ts/TaskEither'
import type { Config } from '../../core/config'
import type { Fields } from '../../core/failure'
import type { DrainReason, Effect, Event, LogLevel, State } from '../../core/lifecycle'
import type { RestartOutcome } from '../../core/outcome'
import { done, type RunEffect, sync, then } from '../../shell/effects'
import type { Child, ChildEvents } from '../../shell/os/child'
import { messageOf } from '../../shell/os/errno'
import type { After, Timer } from '../../shell/os/timer'
import type { Runtime } from '../../shell/runtime'

/** At most this many event-loop turns are spent accepting queued connections before a final close. */
export const MAX_ACCEPT_TURNS = 100

/** A successor: what this process holds of it. */
export type Successor = Pick<Child, 'kill' | 'terminate' | 'release'>

/** What a serving process's effects do to the world. */
export interface Os {
  /** Starts a successor (and logs that it did); throws when it cannot be spawned. */
  readonly spawnSuccessor: (attempt: number, on: Omit<ChildEvents, 'message'>) => Successor
  readonly after: After
  /** Settles after a whole turn of the event loop, poll phase included. */
  readonly nextTurn: () => Promise<void>
  /** Writes this process's pid to the pidfile, if there is one. */
  readonly writePidfile: () => TE.TaskEither<string, void>
  /** Removes the UNIX socket files that are still this server's (whatever happens, the stop goes on). */
  readonly removeSocketFiles: () => TE.TaskEither<never, void>
  /** Closes the listeners; the parent, the protocol (its open connections wind down) and the application hear of it. */
  readonly closeListeners: (reason: DrainReason) => void
  readonly destroyConnections: () => void
  /** Sends a restart's outcome to the control requests that asked for it. */
  readonly answer: (requests: readonly number[], outcome: RestartOutcome) => void
  /** Stops answering on the control socket: a successor that takes over answers there. */
  readonly releaseControl: () => void
  /** Ends the control socket's conversations; `removeFile`: its file goes too. */
  readonly closeControl: (removeFile: boolean) => Promise<void>
  /** The protocol has stopped; the application's exit hook has run (or run out of time). */
  readonly stopped: (code: number) => Promise<void>
  /** The last steps of an exit (pidfile, lock, log, the caller told the code). */
  readonly finish: (code: number) => Promise<void>
  readonly log: (level: LogLevel, event: string, message: string, fields: Fields) => void
}

export type Settings = Pick<Config, 'probationMs' | 'drainTimeoutMs'>

const LISTENER_CLOSED: Event = { _tag: 'ListenerClosed' }
const DRAIN_TIMED_OUT: Event = { _tag: 'DrainTimedOut' }

export const interpret = (os: Os, settings: Settings, runtime: Pick<Runtime<State, Event, Effect>, 'dispatch' | 'state'>): RunEffect<Effect, Event> => {
  const { dispatch } = runtime
  const successors = new Map<number, Successor>()
  const probations = new Map<number, Timer>()
  let drainTimer: Timer | undefined

  const take = (attempt: number): Successor | undefined => {
    const s = successors.get(attempt)
    successors.delete(attempt)
    return s
  }
  const endProbation = (attempt: number): void => {
    probations.get(attempt)?.cancel()
    probations.delete(attempt)
  }

  const spawn = (attempt: number): TE.TaskEither<string, O.Option<Event>> => {
    try {
      successors.set(
        attempt,
        os.spawnSuccessor(attempt, {
          ready: (pid) => dispatch({ _tag: 'SuccessorReady', attempt, pid }),
          failed: (pid, failure) => dispatch({ _tag: 'SuccessorFailed', attempt, pid, failure }),
          exited: (pid, code, signal) => dispatch({ _tag: 'SuccessorExited', attempt, pid, code, signal }),
        }),
      )
      return done
    } catch (err) {
      return then({ _tag: 'SuccessorFailed', attempt, pid: null, failure: { _tag: 'SpawnFailed', message: messageOf(err) } })
    }
  }

  const startProbation = (attempt: number): TE.TaskEither<string, O.Option<Event>> => {
    const passed: Event = { _tag: 'ProbationPassed', attempt }
    if (settings.probationMs === 0) return then(passed)
    probations.set(
      attempt,
      os.after(settings.probationMs, () => {
        probations.delete(attempt)
        dispatch(passed)
      }),
    )
    return done
  }

  // On a final stop, closing the listeners would reset connections still queued in their backlogs (on a
  // handoff the successor accepts those). So first accept until a whole turn of the event loop, poll
  // phase included, brings no new connection. A UNIX path is already gone, so that comes quickly; a TCP
  // port keeps receiving connections while it is open, hence the bound. The count is the lifecycle's.
  const acceptQueued: T.Task<void> = async () => {
    const accepted = (): number => runtime.state().connections.accepted
    let seen = accepted()
    for (let turns = 1; ; turns++) {
      await os.nextTurn()
      const now = accepted()
      if (now === seen || turns >= MAX_ACCEPT_TURNS) return
      seen = now
    }
  }

  const stopAccepting = (reason: DrainReason, final: boolean): TE.TaskEither<string, O.Option<Event>> =>
    pipe(
      final ? pipe(os.removeSocketFiles(), TE.flatMap(() => TE.fromTask(acceptQueued))) : TE.right(undefined),
      TE.map(() => {
        os.closeListeners(reason)
        if (O.isSome(settings.drainTimeoutMs)) drainTimer = os.after(settings.drainTimeoutMs.value, () => dispatch(DRAIN_TIMED_OUT), false)
        return O.some(LISTENER_CLOSED)
      }),
    )

  const exit = (code: number, now: boolean, final: boolean): TE.TaskEither<string, O.Option<Event>> =>
    TE.fromTask(async () => {
      drainTimer?.cancel()
      for (const attempt of [...probations.keys()]) endProbation(attempt)
      for (const s of successors.values()) s.kill()
      successors.clear()
      if (!now) await os.stopped(code)
      // a final stop leaves nobody to answer on the control socket: its file goes
      await os.closeControl(final)
      await os.finish(code)
      return O.none
    })

  return (effect) => {
    switch (effect._tag) {
      case 'SpawnSuccessor':
        return spawn(effect.attempt)
      case 'KillSuccessor':
        return sync(() => {
          endProbation(effect.attempt)
          take(effect.attempt)?.kill()
        })
      case 'StopSuccessor':
        // kept: one still there when this process exits is killed then
        return sync(() => successors.get(effect.attempt)?.terminate())
      case 'StartProbation':
        return startProbation(effect.attempt)
      case 'ReleaseSuccessor':
        return sync(() => {
          endProbation(effect.attempt)
          // the successor is in charge now: it takes the control socket once its channel closes
          os.releaseControl()
          take(effect.attempt)?.release()
        })
      case 'RestorePidfile':
        return pipe(os.writePidfile(), TE.map(() => O.none))
      case 'StopAccepting':
        return stopAccepting(effect.reason, effect.final)
      case 'DestroyConnections':
        return sync(os.destroyConnections)
      case 'Answer':
        return sync(() => os.answer(effect.requests, effect.outcome))
      case 'Exit':
        return exit(effect.code, effect.now, effect.final)
      case 'Log':
        return sync(() => os.log(effect.level, effect.event, effect.message, effect.fields))
    }
  }
}
