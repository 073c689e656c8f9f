import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as O from 'fp-ts/Option'
import fc from 'fast-check'
import { closed, empty, isDrained, opened } from '../../src/core/counter'

describe('counter', () => {
  it('counts opens and closes', () => {
    const two = opened(opened(empty))
    assert.deepStrictEqual(two, { active: 2, accepted: 2 })
    assert.deepStrictEqual(closed(two), O.some({ active: 1, accepted: 2 }))
    assert.equal(isDrained(two), false)
    assert.equal(isDrained(empty), true)
  })

  it('refuses a close with nothing open instead of going negative', () => {
    assert.deepStrictEqual(closed(empty), O.none)
  })

  it('active is opens minus closes, accepted is opens, for any valid sequence', () => {
    fc.assert(
      fc.property(fc.array(fc.boolean(), { maxLength: 300 }), (ops) => {
        let c = empty
        let opens = 0
        let closes = 0
        for (const open of ops) {
          if (open) {
            c = opened(c)
            opens += 1
          } else {
            const next = closed(c)
            if (O.isSome(next)) {
              c = next.value
              closes += 1
            } else assert.equal(c.active, 0)
          }
          assert.deepStrictEqual(c, { active: opens - closes, accepted: opens })
        }
      }),
    )
  })
})
