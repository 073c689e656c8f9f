/**
 * Interpreter: turns each supervisor effect into a TaskEither over a record of capabilities (the OS
 * boundary), so tests can swap in fakes and the real thing is wired in one place (wiring.ts). A failed
 * effect is reported, never thrown: the supervisor goes on (see shell/effects.ts).
 */
import type * as TE from 'fp-ts/TaskEither'
import type { Fields } from '../../core/failure'
import type { RestartOutcome } from '../../core/outcome'
import type { Effect, LogLevel } from '../../core/supervisor'
import { interpreter, sync } from '../../shell/effects'

export interface Capabilities {
  readonly spawnWorker: (id: number, slot: number, generation: number) => void
  readonly stopWorker: (id: number) => void
  readonly killWorker: (id: number) => void
  readonly startProbation: (generation: number) => void
  readonly scheduleRespawn: (slot: number, generation: number, delayMs: number) => void
  readonly announceServing: (generation: number, pids: readonly number[]) => void
  readonly removeSocketFiles: () => TE.TaskEither<string, void>
  readonly closeSockets: () => void
  readonly answer: (requests: readonly number[], outcome: RestartOutcome) => void
  readonly exit: (code: number, now: boolean) => TE.TaskEither<string, void>
  readonly log: (level: LogLevel, event: string, message: string, fields: Fields) => void
}

const step = (caps: Capabilities, effect: Effect): TE.TaskEither<string, void> => {
  switch (effect._tag) {
    case 'SpawnWorker':
      return sync(() => caps.spawnWorker(effect.id, effect.slot, effect.generation))
    case 'StopWorker':
      return sync(() => caps.stopWorker(effect.id))
    case 'KillWorker':
      return sync(() => caps.killWorker(effect.id))
    case 'StartProbation':
      return sync(() => caps.startProbation(effect.generation))
    case 'ScheduleRespawn':
      return sync(() => caps.scheduleRespawn(effect.slot, effect.generation, effect.delayMs))
    case 'AnnounceServing':
      return sync(() => caps.announceServing(effect.generation, effect.pids))
    case 'RemoveSocketFiles':
      return caps.removeSocketFiles()
    case 'CloseSockets':
      return sync(() => caps.closeSockets())
    case 'Answer':
      return sync(() => caps.answer(effect.requests, effect.outcome))
    case 'Exit':
      return caps.exit(effect.code, effect.now)
    case 'Log':
      return sync(() => caps.log(effect.level, effect.event, effect.message, effect.fields))
  }
}

export const interpret = interpreter(step)
