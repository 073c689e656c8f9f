/** Holding an unchanged app's SIGTERM/SIGINT handlers until the drain is over (src/shell/app/appSignals.ts). */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { holdStopHandlers } from '../../src/shell/app/appSignals'

describe('holdStopHandlers', () => {
  it("records the app's handlers instead of listening, lets the library's own through, runs them once, and gives Node its methods back", () => {
    const own = (): void => undefined
    const calls: string[] = []
    const term = (s: NodeJS.Signals): void => void calls.push(`term:${s}`)
    const int = (s: NodeJS.Signals): void => void calls.push(`int:${s}`)
    const dropped = (): void => void calls.push('dropped')
    const other = (): void => undefined
    const before = process.listenerCount('SIGTERM')
    const held = holdStopHandlers((l) => l === own)
    try {
      process.on('SIGTERM', term)
      process.once('SIGINT', int)
      process.prependListener('SIGTERM', dropped)
      process.removeListener('SIGTERM', dropped)
      process.on('SIGTERM', own)
      process.on('SIGHUP', other)
      assert.equal(process.listenerCount('SIGTERM'), before + 1, 'only the library’s own listens')
      assert.ok(process.listeners('SIGTERM').includes(own))
      assert.ok(process.listeners('SIGHUP').includes(other), 'other signals are not held')
      assert.equal(held.run(), 2)
      assert.deepStrictEqual(calls, ['term:SIGTERM', 'int:SIGINT'])
      assert.equal(held.run(), 0, 'each runs once')
    } finally {
      held.release()
      process.removeListener('SIGTERM', own)
      process.removeListener('SIGHUP', other)
    }
    const after = (): void => undefined
    process.on('SIGTERM', after)
    assert.ok(process.listeners('SIGTERM').includes(after), 'released: Node listens again')
    process.removeListener('SIGTERM', after)
  })
})
