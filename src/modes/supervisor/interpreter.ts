/**
 * Runs the supervisor's effects: one exhaustive switch over the effects, over a record of OS capabilities
 * (`Os`: worker processes, timers, the sockets, the control socket, the log) that is passed in, so tests
 * can pass fakes; the real one is built in wiring.ts. This keeps only handles: each worker's process,
 * keyed by the worker id the reducer gave it, and the timers it has set. Every decision is the reducer's
 * (core/supervisor.ts), how a worker is stopped included. An effect that completes with an event returns
 * it (the runtime dispatches it); OS events (a worker's ready, exit or message, a timer) are dispatched
 * when they come. A failed effect is reported, never thrown: the supervisor goes on (see shell/effects.ts).
 */
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as TE from 'fp-ts/TaskEither'
import type { Config } from '../../core/config'
import type { ChildFailure, Fields } from '../../core/failure'
import type { RestartOutcome } from '../../core/outcome'
import type { Effect, Event, LogLevel } from '../../core/supervisor'
import { done, type RunEffect, sync, then } from '../../shell/effects'
import { messageOf } from '../../shell/os/errno'
import type { After, Timer } from '../../shell/os/timer'

export interface WorkerCounts {
  readonly active: number
  readonly accepted: number
  readonly state: string
}

/** What the OS reports of a worker process. */
export interface WorkerEvents {
  readonly ready: (pid: number) => void
  /** It could not be started, or exited or timed out before it was ready. */
  readonly failed: (pid: number | null, failure: ChildFailure) => void
  /** It exited after it was ready, `upMs` after it started. */
  readonly exited: (pid: number, code: number | null, signal: string | null, upMs: number) => void
  /** It has closed its listeners (it said so on its channel). */
  readonly draining: () => void
}

/** A worker process: what the supervisor holds of it. */
export interface WorkerProcess {
  /** Asks it on its channel to drain and exit (SIGTERM if its channel is gone). */
  readonly askToStop: () => void
  /** SIGTERM its process group. */
  readonly terminate: () => void
  /** SIGKILL its process group and stop watching it (a forced exit). */
  readonly kill: () => void
  /** SIGKILL its process group; its exit is still reported. */
  readonly killWatched: () => void
  /** Its counts, asked on its channel; null when it does not answer. */
  readonly status: () => Promise<WorkerCounts | null>
}

/** What the supervisor's effects do to the world. */
export interface Os {
  /** Starts a worker (and logs that it did); throws when it cannot be spawned. */
  readonly spawnWorker: (id: number, slot: number, generation: number, on: WorkerEvents) => WorkerProcess
  readonly after: After
  /** Logs where the first generation serves. */
  readonly announceServing: (generation: number, pids: readonly number[]) => void
  readonly removeSocketFiles: () => TE.TaskEither<never, void>
  /** Closes this process's copies of the sockets (each closes once). */
  readonly closeSockets: () => void
  /** Sends a restart's outcome to the control requests that asked for it. */
  readonly answer: (requests: readonly number[], outcome: RestartOutcome) => void
  /** Ends the control socket's conversations and removes its file. */
  readonly closeControl: () => Promise<void>
  /** The last steps of an exit (pidfile, lock, log, the caller told the code). */
  readonly finish: (code: number) => Promise<void>
  readonly log: (level: LogLevel, event: string, message: string, fields: Fields) => void
}

export type Settings = Pick<Config, 'probationMs'>

/** The effect runner, and the workers' own counts (what a status reports). */
export interface Supervising {
  readonly run: RunEffect<Effect, Event>
  readonly status: (id: number) => Promise<WorkerCounts | null>
}

export const interpret = (os: Os, settings: Settings, dispatch: (event: Event) => void): Supervising => {
  const workers = new Map<number, WorkerProcess>()
  const timers = new Set<Timer>()

  const later = (ms: number, event: Event): void => {
    const timer = os.after(ms, () => {
      timers.delete(timer)
      dispatch(event)
    })
    timers.add(timer)
  }

  const spawn = (id: number, slot: number, generation: number): TE.TaskEither<string, O.Option<Event>> => {
    try {
      workers.set(
        id,
        os.spawnWorker(id, slot, generation, {
          ready: (pid) => dispatch({ _tag: 'WorkerReady', id, pid }),
          failed: (pid, failure) => {
            workers.get(id)?.killWatched() // a worker that timed out may still run, and a wrapper may leave children
            workers.delete(id)
            dispatch({ _tag: 'WorkerFailed', id, pid, failure })
          },
          exited: (pid, code, signal, upMs) => {
            workers.get(id)?.killWatched() // what it started goes with it
            workers.delete(id)
            dispatch({ _tag: 'WorkerExited', id, pid, code, signal, upMs })
          },
          draining: () => dispatch({ _tag: 'WorkerDraining', id }),
        }),
      )
      return done
    } catch (err) {
      return then({ _tag: 'WorkerFailed', id, pid: null, failure: { _tag: 'SpawnFailed', message: messageOf(err) } })
    }
  }

  const exit = (code: number, now: boolean): TE.TaskEither<string, O.Option<Event>> =>
    TE.fromTask(async () => {
      for (const t of timers) t.cancel()
      timers.clear()
      if (now) for (const w of workers.values()) w.kill()
      os.closeSockets()
      await os.closeControl()
      await os.finish(code)
      return O.none
    })

  const run: RunEffect<Effect, Event> = (effect) => {
    switch (effect._tag) {
      case 'SpawnWorker':
        return spawn(effect.id, effect.slot, effect.generation)
      case 'StopWorker':
        return sync(() => {
          const w = workers.get(effect.id)
          if (effect.how === 'ask') w?.askToStop()
          else w?.terminate()
        })
      case 'KillWorker':
        return sync(() => workers.get(effect.id)?.killWatched())
      case 'StartProbation': {
        const passed: Event = { _tag: 'ProbationPassed', generation: effect.generation }
        if (settings.probationMs === 0) return then(passed)
        return sync(() => later(settings.probationMs, passed))
      }
      case 'ScheduleRespawn':
        return sync(() => later(effect.delayMs, { _tag: 'RespawnDue', slot: effect.slot, generation: effect.generation }))
      case 'AnnounceServing':
        return sync(() => os.announceServing(effect.generation, effect.pids))
      case 'RemoveSocketFiles':
        return pipe(os.removeSocketFiles(), TE.map(() => O.none))
      case 'CloseSockets':
        return sync(os.closeSockets)
      case 'Answer':
        return sync(() => os.answer(effect.requests, effect.outcome))
      case 'Exit':
        return exit(effect.code, effect.now)
      case 'Log':
        return sync(() => os.log(effect.level, effect.event, effect.message, effect.fields))
    }
  }

  return { run, status: (id) => workers.get(id)?.status() ?? Promise.resolve(null) }
}
