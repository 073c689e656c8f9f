/**
 * The control protocol: what `uninterruptible restart|status|stop` (or a program) sends to a running
 * server's control socket, and what it gets back. One JSON object per line each way; every request gets
 * exactly one reply, and a malformed or unknown request gets an error reply, never a crash; a
 * connection past a limit (see shell/control/server.ts) gets an error reply and is closed. Pure.
 *
 *   → {"id":1,"op":"restart"}   ← {"id":1,"ok":true,"outcome":{"result":"restarted","generation":3,"pids":[812]}}
 *   → {"id":2,"op":"status"}    ← {"id":2,"ok":true,"status":{"pid":...,"state":"Listening","connections":{...},...}}
 *   → {"id":3,"op":"stop"}      ← {"id":3,"ok":true,"stopping":{"pids":[700,701,702]}}   (then the server exits)
 *   → garbage                   ← {"id":null,"ok":false,"error":{"code":"bad-request","message":"..."}}
 *   → a 17th request while 16 wait for their replies   ← {"id":null,"ok":false,"error":{"code":"limit",...}}, then closed
 */
import { type ChildFailure, failureFields } from './failure'
import type { RestartOutcome } from './outcome'

export const OPS = ['restart', 'status', 'stop'] as const
export type Op = (typeof OPS)[number]

/** A request's id is the caller's, echoed in the reply: a string, a number, or absent (null). */
export type RequestId = string | number | null

export interface Request {
  readonly id: RequestId
  readonly op: Op
}

export type BadRequest = { readonly _tag: 'BadRequest'; readonly id: RequestId; readonly message: string }

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)

export const decodeRequest = (line: string): Request | BadRequest => {
  let u: unknown
  try {
    u = JSON.parse(line)
  } catch {
    return { _tag: 'BadRequest', id: null, message: 'a request is one JSON object per line, such as {"op":"status"}' }
  }
  if (!isRecord(u)) return { _tag: 'BadRequest', id: null, message: 'a request is a JSON object, such as {"op":"status"}' }
  const id: RequestId = typeof u.id === 'string' || typeof u.id === 'number' ? u.id : null
  if (typeof u.op !== 'string' || !(OPS as readonly string[]).includes(u.op)) {
    return { _tag: 'BadRequest', id, message: `unknown op ${JSON.stringify(u.op ?? null)}: expected one of ${OPS.join(', ')}` }
  }
  return { id, op: u.op as Op }
}

export const isBadRequest = (r: Request | BadRequest): r is BadRequest => '_tag' in r

// ---- replies --------------------------------------------------------------------------------------

export interface Connections {
  readonly active: number
  readonly accepted: number
}

export interface WorkerStatus {
  readonly pid: number | null
  readonly generation: number
  readonly worker: number
  readonly state: string
  readonly connections: Connections | null
}

export interface Status {
  readonly pid: number
  readonly mode: 'standalone' | 'supervisor'
  /** The serving generation. */
  readonly generation: number
  readonly state: string
  readonly connections: Connections
  readonly uptimeMs: number
  readonly lastRestart: OutcomeJson | null
  readonly workers?: readonly WorkerStatus[]
}

/** A restart's outcome on the wire. */
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
export type ErrorCode = 'bad-request' | 'busy' | 'internal' | 'limit'

export type Reply =
  | { readonly _tag: 'Outcome'; readonly id: RequestId; readonly outcome: RestartOutcome }
  | { readonly _tag: 'Status'; readonly id: RequestId; readonly status: Status }
  | { readonly _tag: 'Stopping'; readonly id: RequestId; readonly pids: readonly number[] }
  | { readonly _tag: 'Error'; readonly id: RequestId; readonly code: ErrorCode; readonly message: string }

export const encodeReply = (r: Reply): string => {
  switch (r._tag) {
    case 'Outcome':
      return `${JSON.stringify({ id: r.id, ok: r.outcome._tag === 'Restarted', outcome: outcomeJson(r.outcome) })}\n`
    case 'Status':
      return `${JSON.stringify({ id: r.id, ok: true, status: r.status })}\n`
    case 'Stopping':
      return `${JSON.stringify({ id: r.id, ok: true, stopping: { pids: r.pids } })}\n`
    case 'Error':
      return `${JSON.stringify({ id: r.id, ok: false, error: { code: r.code, message: r.message } })}\n`
  }
}
