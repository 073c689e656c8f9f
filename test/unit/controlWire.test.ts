import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import fc from 'fast-check'
import {
  decodeReply,
  decodeRequest,
  encodeReply,
  encodeRequest,
  ERROR_CODES,
  OPS,
  type OutcomeJson,
  type Reply,
  ReplyCodec,
  type Request,
  RequestCodec,
  type Status,
  type WorkerStatus,
} from '../../src/core/wire/control'

/** Plain objects, as JSON.parse makes them (deepStrictEqual compares prototypes). */
const NO_NULL = { noNullPrototype: true } as const

const requestId = fc.oneof(fc.string(), fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }).filter((n) => !Object.is(n, -0)), fc.constant(null))
const request: fc.Arbitrary<Request> = fc.record({ id: requestId, op: fc.constantFrom(...OPS) }, NO_NULL)

const pid = fc.integer({ min: 1, max: 2 ** 31 - 1 })
const count = fc.nat()
const generation = fc.integer({ min: 0, max: 2 ** 31 - 1 })
const outcome: fc.Arbitrary<OutcomeJson> = fc.oneof(
  fc.record({ result: fc.constant('restarted' as const), generation, pids: fc.array(pid, { maxLength: 4 }) }, NO_NULL),
  fc.record({
    result: fc.constant('failed' as const),
    generation,
    reason: fc.string(),
    failure: fc.option(fc.dictionary(fc.string(), fc.oneof(fc.string(), fc.integer(), fc.boolean(), fc.constant(null)), NO_NULL), { nil: null }),
    stopping: fc.boolean(),
  }, NO_NULL),
  fc.record({ result: fc.constant('refused' as const), reason: fc.string() }, NO_NULL),
)
const connections = fc.record({ active: count, accepted: count }, NO_NULL)
const worker: fc.Arbitrary<WorkerStatus> = fc.record({ pid: fc.option(pid, { nil: null }), generation, worker: count, state: fc.string(), connections: fc.option(connections, { nil: null }) }, NO_NULL)
const status: fc.Arbitrary<Status> = fc
  .record({
    pid,
    mode: fc.constantFrom('standalone' as const, 'supervisor' as const),
    generation,
    state: fc.string(),
    connections,
    uptimeMs: count,
    lastRestart: fc.option(outcome, { nil: null }),
    workers: fc.option(fc.array(worker, { maxLength: 3 }), { nil: undefined }),
  }, { noNullPrototype: true })
  .map(({ workers, ...s }): Status => (workers === undefined ? s : { ...s, workers }))
const reply: fc.Arbitrary<Reply> = fc.oneof(
  fc.record({ id: requestId, outcome }).map((r): Reply => ({ _tag: 'Outcome', ...r })),
  fc.record({ id: requestId, status }).map((r): Reply => ({ _tag: 'Status', ...r })),
  fc.record({ id: requestId, pids: fc.array(pid, { maxLength: 4 }) }).map((r): Reply => ({ _tag: 'Stopping', ...r })),
  fc.record({ id: requestId, code: fc.constantFrom(...ERROR_CODES), message: fc.string() }).map((r): Reply => ({ _tag: 'Error', ...r })),
)

describe('the control protocol', () => {
  it('reads back every request and reply it writes, as a codec and as a line', () => {
    fc.assert(fc.property(request, (r) => assert.deepStrictEqual(RequestCodec.decode(RequestCodec.encode(r)), E.right(r))))
    fc.assert(fc.property(request, (r) => assert.deepStrictEqual(decodeRequest(encodeRequest(r).slice(0, -1)), E.right(r))))
    fc.assert(fc.property(reply, (r) => assert.deepStrictEqual(ReplyCodec.decode(ReplyCodec.encode(r)), E.right(r))))
    fc.assert(fc.property(reply, (r) => assert.deepStrictEqual(decodeReply(encodeReply(r).slice(0, -1)), E.right(r))))
  })

  it('writes replies as the README shows them, one line each', () => {
    assert.equal(encodeReply({ _tag: 'Outcome', id: 1, outcome: { result: 'restarted', generation: 3, pids: [812] } }), '{"id":1,"ok":true,"outcome":{"result":"restarted","generation":3,"pids":[812]}}\n')
    assert.equal(
      encodeReply({ _tag: 'Outcome', id: 'a', outcome: { result: 'failed', generation: 3, reason: 'it exited', failure: { failure: 'exited', exitCode: 3, signal: null }, stopping: false } }),
      '{"id":"a","ok":false,"outcome":{"result":"failed","generation":3,"reason":"it exited","failure":{"failure":"exited","exitCode":3,"signal":null},"stopping":false}}\n',
    )
    assert.equal(encodeReply({ _tag: 'Outcome', id: null, outcome: { result: 'refused', reason: 'busy' } }), '{"id":null,"ok":false,"outcome":{"result":"refused","reason":"busy"}}\n')
    assert.equal(
      encodeReply({ _tag: 'Status', id: 2, status: { pid: 9, mode: 'standalone', generation: 2, state: 'Listening', connections: { active: 0, accepted: 7 }, uptimeMs: 5123, lastRestart: null } }),
      '{"id":2,"ok":true,"status":{"pid":9,"mode":"standalone","generation":2,"state":"Listening","connections":{"active":0,"accepted":7},"uptimeMs":5123,"lastRestart":null}}\n',
    )
    assert.equal(encodeReply({ _tag: 'Stopping', id: 3, pids: [700, 701] }), '{"id":3,"ok":true,"stopping":{"pids":[700,701]}}\n')
    assert.equal(encodeReply({ _tag: 'Error', id: null, code: 'limit', message: 'too many' }), '{"id":null,"ok":false,"error":{"code":"limit","message":"too many"}}\n')
    assert.equal(encodeRequest({ id: 1, op: 'status' }), '{"id":1,"op":"status"}\n')
    assert.equal(encodeRequest({ id: null, op: 'stop' }), '{"op":"stop"}\n')
  })

  const bad: readonly [string, string, ReturnType<typeof decodeRequest>][] = [
    ['not JSON', 'not json', E.left({ _tag: 'BadRequest', id: null, message: 'a request is one JSON object per line, such as {"op":"status"}' })],
    ['not an object', '[{"op":"status"}]', E.left({ _tag: 'BadRequest', id: null, message: 'a request is a JSON object, such as {"op":"status"}' })],
    ['null', 'null', E.left({ _tag: 'BadRequest', id: null, message: 'a request is a JSON object, such as {"op":"status"}' })],
    ['an unknown op, with its id', '{"op":"explode","id":7}', E.left({ _tag: 'BadRequest', id: 7, message: 'unknown op "explode": expected one of restart, status, stop' })],
    ['no op', '{"id":"x"}', E.left({ _tag: 'BadRequest', id: 'x', message: 'unknown op null: expected one of restart, status, stop' })],
    ['an op that is not a string', '{"op":{"name":"stop"}}', E.left({ _tag: 'BadRequest', id: null, message: 'unknown op {"name":"stop"}: expected one of restart, status, stop' })],
  ]
  for (const [name, line, expected] of bad) {
    it(`says what is wrong with a request, naming the field: ${name}`, () => assert.deepStrictEqual(decodeRequest(line), expected))
  }

  it('takes an id that is neither a string nor a number as none, as every release has (the reply says null)', () => {
    assert.deepStrictEqual(decodeRequest('{"op":"status","id":{"n":1}}'), E.right({ id: null, op: 'status' }))
    assert.deepStrictEqual(decodeRequest('{"op":"status","extra":true}'), E.right({ id: null, op: 'status' }))
  })

  const badReplies: readonly [string, string, readonly string[]][] = [
    ['not JSON', 'ok', ['(value)']],
    ['none of outcome, status, stopping, error', '{"id":1,"ok":true}', ['(value)']],
    ['an outcome of an unknown kind', '{"id":1,"ok":true,"outcome":{"result":"maybe"}}', ['outcome.result']],
    ['an ok that says the opposite of the outcome', '{"id":1,"ok":true,"outcome":{"result":"refused","reason":"r"}}', ['ok']],
    ['a status missing fields', '{"id":1,"ok":true,"status":{"pid":1,"mode":"standalone"}}', ['status.generation', 'status.state', 'status.connections', 'status.uptimeMs', 'status.lastRestart']],
    ['a worker with a bad pid', '{"id":1,"ok":true,"status":{"pid":1,"mode":"supervisor","generation":1,"state":"Running","connections":{"active":0,"accepted":0},"uptimeMs":1,"lastRestart":null,"workers":[{"pid":0,"generation":1,"worker":0,"state":"ready","connections":null}]}}', ['status.workers.0.pid']],
    ['a stop with pids that are not numbers', '{"id":1,"ok":true,"stopping":{"pids":["1"]}}', ['stopping.pids.0']],
    ['an unknown error code', '{"id":1,"ok":false,"error":{"code":"teapot","message":"m"}}', ['error.code']],
    ['an id that is an object', '{"id":{},"ok":true,"stopping":{"pids":[]}}', ['id']],
  ]
  for (const [name, line, keys] of badReplies) {
    it(`says what is wrong with a reply, field by field: ${name}`, () => {
      const r = decodeReply(line)
      assert.ok(E.isLeft(r), `expected problems, got ${JSON.stringify(r)}`)
      assert.deepStrictEqual(
        r.left.map((p) => p.key),
        keys,
      )
    })
  }
})
