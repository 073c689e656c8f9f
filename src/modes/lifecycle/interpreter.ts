/**
 * Interpreter: turns each lifecycle effect into a TaskEither over a record of capabilities (the whole
 * OS boundary), so tests can swap in fakes and the real thing is wired in one place (wiring.ts).
 * A failed effect is reported, never thrown: the lifecycle goes on (see shell/effects.ts).
 */
import type * as TE from 'fp-ts/TaskEither'
import type { Fields } from '../../core/failure'
import type { DrainReason, Effect, LogLevel } from '../../core/lifecycle'
import type { RestartOutcome } from '../../core/outcome'
import { interpreter, sync } from '../../shell/effects'

export interface Capabilities {
  readonly spawnSuccessor: (attempt: number) => void
  readonly killSuccessor: (attempt: number) => void
  readonly stopSuccessor: (attempt: number) => void
  readonly startProbation: (attempt: number) => void
  readonly releaseSuccessor: (attempt: number) => void
  readonly restorePidfile: () => TE.TaskEither<string, void>
  readonly stopAccepting: (reason: DrainReason, final: boolean) => TE.TaskEither<string, void>
  readonly destroyConnections: () => void
  readonly answer: (requests: readonly number[], outcome: RestartOutcome) => void
  readonly exit: (code: number, now: boolean) => TE.TaskEither<string, void>
  readonly log: (level: LogLevel, event: string, message: string, fields: Fields) => void
}

const step = (caps: Capabilities, effect: Effect): TE.TaskEither<string, void> => {
  switch (effect._tag) {
    case 'SpawnSuccessor':
      return sync(() => caps.spawnSuccessor(effect.attempt))
    case 'KillSuccessor':
      return sync(() => caps.killSuccessor(effect.attempt))
    case 'StopSuccessor':
      return sync(() => caps.stopSuccessor(effect.attempt))
    case 'StartProbation':
      return sync(() => caps.startProbation(effect.attempt))
    case 'ReleaseSuccessor':
      return sync(() => caps.releaseSuccessor(effect.attempt))
    case 'RestorePidfile':
      return caps.restorePidfile()
    case 'StopAccepting':
      return caps.stopAccepting(effect.reason, effect.final)
    case 'DestroyConnections':
      return sync(() => caps.destroyConnections())
    case 'Answer':
      return sync(() => caps.answer(effect.requests, effect.outcome))
    case 'Exit':
      return caps.exit(effect.code, effect.now)
    case 'Log':
      return sync(() => caps.log(effect.level, effect.event, effect.message, effect.fields))
  }
}

export const interpret = interpreter(step)
