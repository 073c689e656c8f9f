import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import fc from 'fast-check'
import {
  type ChildMessage,
  ChildMessageCodec,
  decodeChildMessage,
  decodeParentMessage,
  encodeChildMessage,
  encodeParentMessage,
  type ParentMessage,
  ParentMessageCodec,
} from '../../src/core/wire/channel'

const id = fc.option(fc.nat(), { nil: undefined }).map((n) => O.fromNullable(n))
const childMessage: fc.Arbitrary<ChildMessage> = fc.oneof(
  fc.constant<ChildMessage>({ _tag: 'Ready' }),
  fc.constant<ChildMessage>({ _tag: 'Draining' }),
  fc.string().map((reason): ChildMessage => ({ _tag: 'Failed', reason })),
  fc.record({ id, active: fc.nat(), accepted: fc.nat(), state: fc.string() }).map((s): ChildMessage => ({ _tag: 'Status', ...s })),
)
const parentMessage: fc.Arbitrary<ParentMessage> = fc.oneof(fc.constant<ParentMessage>({ _tag: 'Stop' }), id.map((i): ParentMessage => ({ _tag: 'StatusRequest', id: i })))

describe('the channel', () => {
  it('reads back every message it writes, each way, as a codec and as a line', () => {
    fc.assert(fc.property(childMessage, (m) => assert.deepStrictEqual(ChildMessageCodec.decode(ChildMessageCodec.encode(m)), E.right(m))))
    fc.assert(fc.property(childMessage, (m) => assert.deepStrictEqual(decodeChildMessage(encodeChildMessage(m).slice(0, -1)), E.right(m))))
    fc.assert(fc.property(parentMessage, (m) => assert.deepStrictEqual(ParentMessageCodec.decode(ParentMessageCodec.encode(m)), E.right(m))))
    fc.assert(fc.property(parentMessage, (m) => assert.deepStrictEqual(decodeParentMessage(encodeParentMessage(m).slice(0, -1)), E.right(m))))
  })

  it('writes one line per message, what every release has read', () => {
    assert.equal(encodeChildMessage({ _tag: 'Ready' }), '{"type":"ready"}\n')
    assert.equal(encodeChildMessage({ _tag: 'Draining' }), '{"type":"draining"}\n')
    assert.equal(encodeChildMessage({ _tag: 'Failed', reason: 'port\nin use' }), '{"type":"failed","reason":"port\\nin use"}\n')
    assert.equal(encodeChildMessage({ _tag: 'Status', id: O.none, active: 1, accepted: 2, state: 'Listening' }), '{"type":"status","active":1,"accepted":2,"state":"Listening"}\n')
    assert.equal(encodeChildMessage({ _tag: 'Status', id: O.some(7), active: 1, accepted: 2, state: 'Listening' }), '{"type":"status","id":7,"active":1,"accepted":2,"state":"Listening"}\n')
    assert.equal(encodeParentMessage({ _tag: 'Stop' }), '{"type":"stop"}\n')
    assert.equal(encodeParentMessage({ _tag: 'StatusRequest', id: O.none }), '{"type":"status"}\n')
    assert.equal(encodeParentMessage({ _tag: 'StatusRequest', id: O.some(3) }), '{"type":"status","id":3}\n')
  })

  it('reads what an older release writes (no ids) and ignores fields it does not know', () => {
    assert.deepStrictEqual(decodeParentMessage('{"type":"status"}'), E.right({ _tag: 'StatusRequest', id: O.none }))
    assert.deepStrictEqual(decodeChildMessage('{"type":"status","active":0,"accepted":5,"state":"Draining"}'), E.right({ _tag: 'Status', id: O.none, active: 0, accepted: 5, state: 'Draining' }))
    assert.deepStrictEqual(decodeChildMessage('{"type":"ready","since":12}'), E.right({ _tag: 'Ready' }))
  })

  const malformed: readonly [string, string, readonly { readonly key: string; readonly message: RegExp }[]][] = [
    ['not JSON', 'ready', [{ key: '(value)', message: /^is not JSON: / }]],
    ['not an object', '[1]', [{ key: '(value)', message: /^got \[1\], expected a message from a child/ }]],
    ['an unknown type', '{"type":"hello"}', [{ key: 'type', message: /^got "hello", expected one of "ready", "draining", "failed", "waiting", "status"$/ }]],
    ['no type', '{}', [{ key: 'type', message: /^got undefined, expected one of/ }]],
    ['a failure without its reason', '{"type":"failed"}', [{ key: 'reason', message: /^got undefined, expected string$/ }]],
    [
      'a status with wrong counts',
      '{"type":"status","id":-1,"active":"2","accepted":1.5,"state":"Listening"}',
      [
        { key: 'id', message: /^got -1, expected a request number$/ },
        { key: 'active', message: /^got "2", expected a count, 0 or more$/ },
        { key: 'accepted', message: /^got 1.5, expected a count, 0 or more$/ },
      ],
    ],
  ]
  for (const [name, line, problems] of malformed) {
    it(`says what is wrong with a line from a child, field by field: ${name}`, () => {
      const r = decodeChildMessage(line)
      assert.ok(E.isLeft(r), `expected problems, got ${JSON.stringify(r)}`)
      assert.deepStrictEqual(
        r.left.map((p) => p.key),
        problems.map((p) => p.key),
      )
      r.left.forEach((p, i) => assert.match(p.message, problems[i]?.message ?? /never/))
    })
  }

  it('says what is wrong with a line from a parent', () => {
    const r = decodeParentMessage('{"type":"status","id":"one"}')
    assert.deepStrictEqual(r, E.left([{ key: 'id', message: 'got "one", expected a request number' }]))
    assert.deepStrictEqual(decodeParentMessage('{"type":"restart"}'), E.left([{ key: 'type', message: 'got "restart", expected one of "stop", "status"' }]))
  })
})
