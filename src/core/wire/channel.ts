/**
 * The channel between a server and a process it started (a wire format): one JSON object per line,
 * told apart by `type`. The child says it is ready (written synchronously in the turn it starts to
 * listen), or why it could not start (just before it exits); a worker later says it stopped accepting,
 * and answers its supervisor's status requests, which carry an id it echoes. One codec per direction
 * reads and writes each message. Pure.
 *
 *   child → parent   {"type":"ready"}   {"type":"draining"}   {"type":"failed","reason":"..."}
 *                    {"type":"waiting","reason":"..."}   (not ready yet, and why: an unchanged app under `run`)
 *                    {"type":"status","id":3,"active":2,"accepted":17,"state":"Listening"}
 *   parent → child   {"type":"stop"}    {"type":"status","id":3}
 *
 * The parent and the child may be of different releases: a status request without an id (an older
 * supervisor's) is answered without one, in order.
 */
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import type * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import * as t from 'io-ts'
import { failAt, fieldOf, intBetween, isRecord, jsonFromString, optional, type Problem, problemsOf, show } from '../codec'

/** A status request's id: what the parent's request table gave it (see shell/requestReply.ts). */
const RequestNumber = intBetween(0, Number.MAX_SAFE_INTEGER, 'a request number')
const Count = intBetween(0, Number.MAX_SAFE_INTEGER, 'a count, 0 or more')

export type ChildMessage =
  | { readonly _tag: 'Ready' }
  /** A worker asked to stop has closed its listeners: it accepts nothing more, and drains. */
  | { readonly _tag: 'Draining' }
  | { readonly _tag: 'Failed'; readonly reason: string }
  /** Not ready yet, and what it waits for: the reason a timeout gives if it comes to that. */
  | { readonly _tag: 'Waiting'; readonly reason: string }
  /** A worker's answer to the status request `id` (none: the request had none). */
  | { readonly _tag: 'Status'; readonly id: O.Option<number>; readonly active: number; readonly accepted: number; readonly state: string }

export type ChildMessageJson =
  | { readonly type: 'ready' }
  | { readonly type: 'draining' }
  | { readonly type: 'failed'; readonly reason: string }
  | { readonly type: 'waiting'; readonly reason: string }
  | { readonly type: 'status'; readonly id: number | undefined; readonly active: number; readonly accepted: number; readonly state: string }

/** What a supervisor says to a worker. */
export type ParentMessage = { readonly _tag: 'Stop' } | { readonly _tag: 'StatusRequest'; readonly id: O.Option<number> }

export type ParentMessageJson = { readonly type: 'stop' } | { readonly type: 'status'; readonly id: number | undefined }

const FailedJson = t.type({ reason: t.string })
const StatusJson = t.type({ id: optional(RequestNumber), active: Count, accepted: Count, state: t.string })
const StatusRequestJson = t.type({ id: optional(RequestNumber) })

const unknownType = <A>(u: unknown, c: t.Context, types: readonly string[]): t.Validation<A> => {
  const type = fieldOf(u, 'type')
  return failAt(c, ['type'], type, `got ${show(type)}, expected one of ${types.map((k) => JSON.stringify(k)).join(', ')}`)
}

const isTagged =
  (...tags: readonly string[]) =>
  (u: unknown): boolean =>
    isRecord(u) && typeof u._tag === 'string' && tags.includes(u._tag)

export const ChildMessageCodec = new t.Type<ChildMessage, ChildMessageJson>(
  'a message from a child: an object with "type"',
  (u): u is ChildMessage => isTagged('Ready', 'Draining', 'Failed', 'Waiting', 'Status')(u),
  (u, c) => {
    if (!isRecord(u)) return t.failure(u, c)
    switch (u.type) {
      case 'ready':
        return t.success({ _tag: 'Ready' })
      case 'draining':
        return t.success({ _tag: 'Draining' })
      case 'failed':
        return E.map((j: t.TypeOf<typeof FailedJson>): ChildMessage => ({ _tag: 'Failed', reason: j.reason }))(FailedJson.validate(u, c))
      case 'waiting':
        return E.map((j: t.TypeOf<typeof FailedJson>): ChildMessage => ({ _tag: 'Waiting', reason: j.reason }))(FailedJson.validate(u, c))
      case 'status':
        return E.map((j: t.TypeOf<typeof StatusJson>): ChildMessage => ({ _tag: 'Status', id: O.fromNullable(j.id), active: j.active, accepted: j.accepted, state: j.state }))(StatusJson.validate(u, c))
      default:
        return unknownType(u, c, ['ready', 'draining', 'failed', 'waiting', 'status'])
    }
  },
  (m) => {
    switch (m._tag) {
      case 'Ready':
        return { type: 'ready' }
      case 'Draining':
        return { type: 'draining' }
      case 'Failed':
        return { type: 'failed', reason: m.reason }
      case 'Waiting':
        return { type: 'waiting', reason: m.reason }
      case 'Status':
        return { type: 'status', id: O.toUndefined(m.id), active: m.active, accepted: m.accepted, state: m.state }
    }
  },
)

export const ParentMessageCodec = new t.Type<ParentMessage, ParentMessageJson>(
  'a message from a parent: an object with "type"',
  (u): u is ParentMessage => isTagged('Stop', 'StatusRequest')(u),
  (u, c) => {
    if (!isRecord(u)) return t.failure(u, c)
    switch (u.type) {
      case 'stop':
        return t.success({ _tag: 'Stop' })
      case 'status':
        return E.map((j: t.TypeOf<typeof StatusRequestJson>): ParentMessage => ({ _tag: 'StatusRequest', id: O.fromNullable(j.id) }))(StatusRequestJson.validate(u, c))
      default:
        return unknownType(u, c, ['stop', 'status'])
    }
  },
  (m) => (m._tag === 'Stop' ? { type: 'stop' } : { type: 'status', id: O.toUndefined(m.id) }),
)

// ---- lines ------------------------------------------------------------------------------------------

const Line = jsonFromString((reason) => `is not JSON: ${reason}`)
const ChildLine = Line.pipe(ChildMessageCodec, ChildMessageCodec.name)
const ParentLine = Line.pipe(ParentMessageCodec, ParentMessageCodec.name)

/** A line that is not a message is a bug (the channel is ours), not an attack: what is wrong with it, field by field. */
export const decodeChildMessage = (line: string): E.Either<RNEA.ReadonlyNonEmptyArray<Problem>, ChildMessage> => pipe(ChildLine.decode(line), E.mapLeft(problemsOf()))

export const encodeChildMessage = (m: ChildMessage): string => `${ChildLine.encode(m)}\n`

export const decodeParentMessage = (line: string): E.Either<RNEA.ReadonlyNonEmptyArray<Problem>, ParentMessage> => pipe(ParentLine.decode(line), E.mapLeft(problemsOf()))

export const encodeParentMessage = (m: ParentMessage): string => `${ParentLine.encode(m)}\n`
