/**
 * The control protocol (a wire format): what `uninterruptible restart|status|stop` (or a program) sends
 * to a running server's control socket, and what it gets back. One JSON object per line each way; every
 * request gets exactly one reply, with the request's id; a malformed or unknown request gets an error
 * reply saying what is wrong with it, never a crash; a connection past a limit (see
 * shell/control/server.ts) gets an error reply and is closed. One codec reads and writes requests,
 * one replies (the server writes them, the client reads them). Pure.
 *
 *   → {"id":1,"op":"restart"}   ← {"id":1,"ok":true,"outcome":{"result":"restarted","generation":3,"pids":[812]}}
 *   → {"id":2,"op":"status"}    ← {"id":2,"ok":true,"status":{"pid":...,"state":"Listening","connections":{...},...}}
 *   → {"id":3,"op":"stop"}      ← {"id":3,"ok":true,"stopping":{"pids":[700,701,702]}}   (then the server exits)
 *   → garbage                   ← {"id":null,"ok":false,"error":{"code":"bad-request","message":"..."}}
 *   → a 17th request while 16 wait for their replies   ← {"id":null,"ok":false,"error":{"code":"limit",...}}, then closed
 */
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import type * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import * as t from 'io-ts'
import { described, failAt, fieldOf, intBetween, isRecord, jsonFromString, lazily, nullable, optional, plain, type Problem, problemsOf, show } from '../codec'
import { type ChildFailure, failureFields } from '../failure'
import type { RestartOutcome } from '../outcome'

export const OPS = ['restart', 'status', 'stop'] as const
export type Op = (typeof OPS)[number]

/** A request's id is the caller's, echoed in the reply: a string, a number, or absent (null). */
export type RequestId = string | number | null

export interface Request {
  readonly id: RequestId
  readonly op: Op
}

/** A request that cannot be served: the id it had, if it could be read, and what is wrong with it. */
export type BadRequest = { readonly _tag: 'BadRequest'; readonly id: RequestId; readonly message: string }

// ---- replies --------------------------------------------------------------------------------------

/** How many connections a process has: open now, and accepted since it started. */
export interface ConnectionCounts {
  /** Accepted and not closed yet. */
  readonly active: number
  /** Accepted in all, by this process. */
  readonly accepted: number
}

/** One worker of a supervised server, as `serverStatus` reports it. */
export interface WorkerStatus {
  /** Its pid; `null` while it has not said it is ready. */
  readonly pid: number | null
  /** The generation it belongs to (during a restart, two generations have workers). */
  readonly generation: number
  /** Its slot among the workers of its generation, from 0. */
  readonly worker: number
  /** Its lifecycle state (`Listening`, `Draining`, ...), or its phase (`starting`, `stopping`) when it does not answer. */
  readonly state: string
  /** Its counts; `null` when it did not say (still starting, or gone). */
  readonly connections: ConnectionCounts | null
}

/** A running server's status, what `serverStatus` resolves with (and `uninterruptible status --json` prints); exported as `ServerStatus`. */
export interface Status {
  /** The pid of the process that answered: the standalone process that serves, or the supervisor. */
  readonly pid: number
  /** Whether the server restarts itself (`standalone`) or runs workers (`supervisor`). */
  readonly mode: 'standalone' | 'supervisor'
  /** The serving generation. */
  readonly generation: number
  /** The reducer's state, in words: `Listening`, `Probation`, `Running`, ... */
  readonly state: string
  /** The connections of the process that answered; a supervisor's: the sum over its workers. */
  readonly connections: ConnectionCounts
  /** How long the answering process has run, on a monotonic clock. */
  readonly uptimeMs: number
  /** How the last restart ended (a refused one does not count); `null` when there was none. */
  readonly lastRestart: OutcomeJson | null
  /** Supervised: every worker still alive, whatever its generation. */
  readonly workers?: readonly WorkerStatus[]
}

/**
 * A restart's outcome, what `restartServer` resolves with (and the control protocol's `outcome`);
 * exported as `RestartResult`. `restarted`: the new generation serves, and the old one accepts no more.
 * `failed`: the new generation did not come up (`failure` says how, as the log's fields) and the old
 * one serves on; or, with `stopping`, a stop came first. `refused`: no restart was started (one was in
 * progress; the server is starting, draining, or a container's init).
 */
export type OutcomeJson =
  | { readonly result: 'restarted'; readonly generation: number; readonly pids: readonly number[] }
  | {
      readonly result: 'failed'
      readonly generation: number
      readonly reason: string
      readonly failure: Readonly<Record<string, string | number | boolean | null>> | null
      /** The server is stopping (a stop came during the restart); otherwise the old generation serves on. */
      readonly stopping: boolean
    }
  | { readonly result: 'refused'; readonly reason: string }

const failureJson = (f: ChildFailure | null): Readonly<Record<string, string | number | boolean | null>> | null => (f === null ? null : failureFields(f))

export const outcomeJson = (o: RestartOutcome): OutcomeJson => {
  switch (o._tag) {
    case 'Restarted':
      return { result: 'restarted', generation: o.generation, pids: o.pids }
    case 'RestartFailed':
      return { result: 'failed', generation: o.generation, reason: o.reason, failure: failureJson(o.failure), stopping: o.stopping }
    case 'RestartRefused':
      return { result: 'refused', reason: o.reason }
  }
}

/**
 * bad-request: malformed, unknown, or a line too long; busy: a stop refused during a restart; internal;
 * limit: a connection past a limit (too many connections, or too many requests waiting for their
 * replies), which the server then closes.
 */
export const ERROR_CODES = ['bad-request', 'busy', 'internal', 'limit'] as const
export type ErrorCode = (typeof ERROR_CODES)[number]

/** A reply as the server writes it and a client reads it. */
export type Reply =
  | { readonly _tag: 'Outcome'; readonly id: RequestId; readonly outcome: OutcomeJson }
  | { readonly _tag: 'Status'; readonly id: RequestId; readonly status: Status }
  | { readonly _tag: 'Stopping'; readonly id: RequestId; readonly pids: readonly number[] }
  | { readonly _tag: 'Error'; readonly id: RequestId; readonly code: ErrorCode; readonly message: string }

// ---- the codecs ---------------------------------------------------------------------------------------

const oneOf = <K extends string>(keys: readonly K[]) =>
  described(`one of ${keys.join(', ')}`, (u): u is K => keys.some((k) => k === u))

const Pid = intBetween(1, 2 ** 31 - 1, 'a process id')
const Count = intBetween(0, Number.MAX_SAFE_INTEGER, 'a count, 0 or more')
const Generation = intBetween(0, 2 ** 31 - 1, 'a generation number')
const isScalar = (u: unknown): u is string | number | boolean | null => u === null || ['string', 'number', 'boolean'].includes(typeof u)
const Fields = described('an object of strings, numbers, true, false or null', (u): u is Readonly<Record<string, string | number | boolean | null>> => isRecord(u) && Object.values(u).every(isScalar))
const exactly = <L extends string | boolean>(value: L) => described(JSON.stringify(value), (u): u is L => u === value)

/** An id as a server reads it: a string or a number; anything else (or none) is no id, and the reply's is null. */
const RequestIdOf = (u: unknown): RequestId => (typeof u === 'string' || typeof u === 'number' ? u : null)
const RequestIdJson = described<RequestId>('a string, a number or null', (u): u is RequestId => u === null || typeof u === 'string' || typeof u === 'number')

const OP_EXPECTED = `expected one of ${OPS.join(', ')}`
const isOp = (u: unknown): u is Op => OPS.some((op) => op === u)

/** What a person is shown a request looks like. */
const LIKE = 'such as {"op":"status"}'

/** A request as JSON: `op`, and the caller's `id` (left out when it has none). */
export const RequestCodec = new t.Type<Request, { readonly id: string | number | undefined; readonly op: Op }>(
  'a request: a JSON object with "op"',
  (u): u is Request => isRecord(u) && isOp(u.op) && RequestIdJson.is(u.id),
  (u, c) => {
    if (!isRecord(u)) return t.failure(u, c, `a request is a JSON object, ${LIKE}`)
    const op = u.op
    // what `op` is wrong, named as every release has named it
    return isOp(op) ? t.success({ id: RequestIdOf(u.id), op }) : failAt(c, ['op'], op, `unknown op ${JSON.stringify(op ?? null)}: ${OP_EXPECTED}`)
  },
  (r) => ({ id: r.id ?? undefined, op: r.op }),
)

const RequestLine = jsonFromString(() => `a request is one JSON object per line, ${LIKE}`).pipe(RequestCodec, RequestCodec.name)

type OutcomeReplyJson = { readonly id: RequestId; readonly ok: boolean; readonly outcome: OutcomeJson }
type StatusReplyJson = { readonly id: RequestId; readonly ok: true; readonly status: Status }
type StoppingReplyJson = { readonly id: RequestId; readonly ok: true; readonly stopping: { readonly pids: readonly number[] } }
type ErrorReplyJson = { readonly id: RequestId; readonly ok: false; readonly error: { readonly code: ErrorCode; readonly message: string } }
export type ReplyJson = OutcomeReplyJson | StatusReplyJson | StoppingReplyJson | ErrorReplyJson

/**
 * What a reply is checked with, built on first use: every serving process loads this module on its way
 * to ready (a successor's start-up is on the handoff's critical path), and only a client reads replies.
 */
const replyParts = lazily(() => {
  const ConnectionsJson = plain<ConnectionCounts>('connections: {"active": N, "accepted": N}', t.type({ active: Count, accepted: Count }))

  const OutcomeCodec: t.Type<OutcomeJson, OutcomeJson> = (() => {
    const Restarted = t.type({ result: exactly('restarted'), generation: Generation, pids: t.readonlyArray(Pid) })
    const Failed = t.type({ result: exactly('failed'), generation: Generation, reason: t.string, failure: nullable(Fields), stopping: t.boolean })
    const Refused = t.type({ result: exactly('refused'), reason: t.string })
    return new t.Type<OutcomeJson, OutcomeJson>(
      'a restart outcome: an object with "result"',
      (u): u is OutcomeJson => Restarted.is(u) || Failed.is(u) || Refused.is(u),
      (u, c) => {
        switch (fieldOf(u, 'result')) {
          case 'restarted':
            return Restarted.validate(u, c)
          case 'failed':
            return Failed.validate(u, c)
          case 'refused':
            return Refused.validate(u, c)
          default:
            return isRecord(u) ? failAt(c, ['result'], u.result, `got ${show(u.result)}, expected one of "restarted", "failed", "refused"`) : t.failure(u, c)
        }
      },
      t.identity,
    )
  })()

  const WorkerStatusJson = plain<WorkerStatus>(
    'a worker\'s status',
    t.type({ pid: nullable(Pid), generation: Generation, worker: Count, state: t.string, connections: nullable(ConnectionsJson) }),
  )

  const StatusFields = t.type({
    pid: Pid,
    mode: oneOf(['standalone', 'supervisor']),
    generation: Generation,
    state: t.string,
    connections: ConnectionsJson,
    uptimeMs: Count,
    lastRestart: nullable(OutcomeCodec),
    workers: optional(t.readonlyArray(WorkerStatusJson)),
  })
  // `workers` absent stays absent: a standalone server's status has none
  const StatusCodec = new t.Type<Status, Status>(
    'a server\'s status',
    (u): u is Status => StatusFields.is(u),
    (u, c) => E.map(({ workers, ...s }: t.TypeOf<typeof StatusFields>): Status => (workers === undefined ? s : { ...s, workers }))(StatusFields.validate(u, c)),
    t.identity,
  )

  const OutcomeReply = t.type({ id: RequestIdJson, ok: t.boolean, outcome: OutcomeCodec })
  const StatusReply = t.type({ id: RequestIdJson, ok: exactly(true), status: StatusCodec })
  const StoppingReply = t.type({ id: RequestIdJson, ok: exactly(true), stopping: t.type({ pids: t.readonlyArray(Pid) }) })
  const ErrorReply = t.type({ id: RequestIdJson, ok: exactly(false), error: t.type({ code: oneOf(ERROR_CODES), message: t.string }) })
  return { OutcomeReply, StatusReply, StoppingReply, ErrorReply }
})

/** Only a restart that served is ok. */
const outcomeOk = (o: OutcomeJson): boolean => o.result === 'restarted'

export const ReplyCodec = new t.Type<Reply, ReplyJson>(
  'a reply: an object with "id", "ok", and "outcome", "status", "stopping" or "error"',
  (u): u is Reply => isRecord(u) && ['Outcome', 'Status', 'Stopping', 'Error'].includes(String(u._tag)),
  (u, c) => {
    if (!isRecord(u)) return t.failure(u, c)
    const { OutcomeReply, StatusReply, StoppingReply, ErrorReply } = replyParts()
    if ('outcome' in u)
      return E.flatMap((r: OutcomeReplyJson): t.Validation<Reply> =>
        r.ok === outcomeOk(r.outcome) ? t.success({ _tag: 'Outcome', id: r.id, outcome: r.outcome }) : failAt(c, ['ok'], r.ok, `got ${String(r.ok)}, expected ${String(!r.ok)} for a restart that ${r.outcome.result === 'restarted' ? 'served' : r.outcome.result}`),
      )(OutcomeReply.validate(u, c))
    if ('status' in u) return E.map((r: StatusReplyJson): Reply => ({ _tag: 'Status', id: r.id, status: r.status }))(StatusReply.validate(u, c))
    if ('stopping' in u) return E.map((r: StoppingReplyJson): Reply => ({ _tag: 'Stopping', id: r.id, pids: r.stopping.pids }))(StoppingReply.validate(u, c))
    if ('error' in u) return E.map((r: ErrorReplyJson): Reply => ({ _tag: 'Error', id: r.id, code: r.error.code, message: r.error.message }))(ErrorReply.validate(u, c))
    return t.failure(u, c)
  },
  (r) => {
    switch (r._tag) {
      case 'Outcome':
        return { id: r.id, ok: outcomeOk(r.outcome), outcome: r.outcome }
      case 'Status':
        return { id: r.id, ok: true, status: r.status }
      case 'Stopping':
        return { id: r.id, ok: true, stopping: { pids: r.pids } }
      case 'Error':
        return { id: r.id, ok: false, error: { code: r.code, message: r.message } }
    }
  },
)

const ReplyLine = jsonFromString((reason) => `is not JSON: ${reason}`).pipe(ReplyCodec, ReplyCodec.name)

// ---- lines ------------------------------------------------------------------------------------------

/** A request line; a bad one with the id it had (when it could be read) and what is wrong with it, field by field. */
export const decodeRequest = (line: string): E.Either<BadRequest, Request> =>
  pipe(
    RequestLine.decode(line),
    E.mapLeft((errors): BadRequest => {
      const problems = problemsOf()(errors)
      // the messages name the field (`unknown op ...`), as every release has said them
      return { _tag: 'BadRequest', id: RequestIdOf(fieldOf(parsed(line), 'id')), message: problems.map((p) => p.message).join('; ') }
    }),
  )

/** The line's JSON, if it is JSON. */
const parsed = (line: string): unknown => E.getOrElseW(() => undefined)(jsonFromString(() => '').decode(line))

export const encodeRequest = (r: Request): string => `${RequestLine.encode(r)}\n`

export const encodeReply = (r: Reply): string => `${ReplyLine.encode(r)}\n`

/** A reply line, or what is wrong with it. */
export const decodeReply = (line: string): E.Either<RNEA.ReadonlyNonEmptyArray<Problem>, Reply> => pipe(ReplyLine.decode(line), E.mapLeft(problemsOf()))
