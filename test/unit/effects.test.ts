import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import * as TE from 'fp-ts/TaskEither'
import { done, drive, guarded, replayQueued, reportEffectFailure, type RunEffect, sync, then } from '../../src/shell/effects'
import { createRuntime } from '../../src/shell/runtime'
import { memoryLog, settled } from '../support/fakes'

type Fx = { readonly _tag: 'Ok' } | { readonly _tag: 'Left' } | { readonly _tag: 'Throws' } | { readonly _tag: 'Next'; readonly n: number }

describe('effects', () => {
  it('done, sync and then: no event, no event after running the step, one event', async () => {
    assert.deepStrictEqual(await done(), E.right(O.none))
    let ran = false
    assert.deepStrictEqual(await sync(() => (ran = true))(), E.right(O.none))
    assert.ok(ran)
    assert.deepStrictEqual(await then('x')(), E.right(O.some('x')))
  })

  it('guarded: a Left and a throw both fail as EffectFailed naming the effect; a success passes its event on', async () => {
    const run: RunEffect<Fx, number> = (fx) => {
      switch (fx._tag) {
        case 'Ok':
          return done
        case 'Left':
          return TE.left('no pidfile folder')
        case 'Throws':
          throw new Error('EBADF')
        case 'Next':
          return then(fx.n)
      }
    }
    const g = guarded(run)
    assert.deepStrictEqual(await g({ _tag: 'Ok' })(), E.right(O.none))
    assert.deepStrictEqual(await g({ _tag: 'Next', n: 3 })(), E.right(O.some(3)))
    assert.deepStrictEqual(await g({ _tag: 'Left' })(), E.left({ _tag: 'EffectFailed', effect: 'Left', message: 'no pidfile folder' }))
    assert.deepStrictEqual(await g({ _tag: 'Throws' })(), E.left({ _tag: 'EffectFailed', effect: 'Throws', message: 'EBADF' }))
  })

  it('drive: a failed effect is logged (effect-failed, naming it) and the effects after it run; an effect\'s event is dispatched', async () => {
    const { log, lines } = memoryLog()
    // events are the effects' numbers; event n asks for the effects listed for it
    const plan: Readonly<Record<number, readonly Fx[]>> = { 1: [{ _tag: 'Left' }, { _tag: 'Throws' }, { _tag: 'Next', n: 2 }], 2: [{ _tag: 'Ok' }] }
    const rt = createRuntime((s: readonly number[], e: number) => [[...s, e], plan[e] ?? []] as const, [], reportEffectFailure(log))
    const ran: string[] = []
    drive(
      rt,
      (fx) => {
        ran.push(fx._tag)
        if (fx._tag === 'Left') return TE.left('disk full')
        if (fx._tag === 'Throws') throw new Error('bad fd')
        return fx._tag === 'Next' ? then(fx.n) : done
      },
      log,
    )
    rt.dispatch(1)
    await settled()
    assert.deepStrictEqual(ran, ['Left', 'Throws', 'Next', 'Ok'])
    assert.deepStrictEqual(rt.state(), [1, 2])
    assert.deepStrictEqual(
      lines.map((l) => [l.level, l.fields.event, l.fields.effect, l.message]),
      [
        ['error', 'effect-failed', 'Left', 'Left failed: disk full'],
        ['error', 'effect-failed', 'Throws', 'Throws failed: bad fd'],
      ],
    )
  })

  it('reportEffectFailure logs what a runtime caught', () => {
    const { log, lines } = memoryLog()
    reportEffectFailure(log)({ _tag: 'Exit' }, new Error('hook threw'))
    assert.deepStrictEqual(lines, [{ level: 'error', fields: { event: 'effect-failed', effect: 'Exit' }, message: 'Exit failed: hook threw' }])
  })

  it('replayQueued: a restart signal that arrived while starting is logged and dropped; the others are handled in order', () => {
    const { log, lines } = memoryLog()
    const handled: NodeJS.Signals[] = []
    replayQueued(['SIGHUP', 'SIGUSR2', 'SIGTERM', 'SIGUSR2'], 'SIGUSR2', (s) => handled.push(s), log)
    assert.deepStrictEqual(handled, ['SIGHUP', 'SIGTERM'])
    assert.deepStrictEqual(
      lines.map((l) => [l.level, l.fields.event, l.fields.signal]),
      [
        ['warn', 'restart-ignored', 'SIGUSR2'],
        ['warn', 'restart-ignored', 'SIGUSR2'],
      ],
    )
  })
})
