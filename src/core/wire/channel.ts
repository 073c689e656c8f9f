/**
 * The channel between a server and a process it started: one JSON object per line. The child says it is
 * ready (written synchronously in the turn it starts to listen), or why it could not start (just before
 * it exits); a worker later answers its supervisor's status requests, and is asked by it to stop. Pure.
 */

export type ChildMessage =
  | { readonly _tag: 'Ready' }
  /** A worker asked to stop has closed its listeners: it accepts nothing more, and drains. */
  | { readonly _tag: 'Draining' }
  | { readonly _tag: 'Failed'; readonly reason: string }
  | { readonly _tag: 'Status'; readonly active: number; readonly accepted: number; readonly state: string }

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null

/** A line's JSON object, or `undefined` for a line that is not one. */
const parseRecord = (line: string): Readonly<Record<string, unknown>> | undefined => {
  try {
    const u: unknown = JSON.parse(line)
    return isRecord(u) ? u : undefined
  } catch {
    return undefined
  }
}

/** `undefined` for a line that is not a message (the channel is ours, so that is a bug, not an attack). */
export const decodeChildMessage = (line: string): ChildMessage | undefined => {
  const u = parseRecord(line)
  if (u === undefined) return undefined
  switch (u.type) {
    case 'ready':
      return { _tag: 'Ready' }
    case 'draining':
      return { _tag: 'Draining' }
    case 'failed':
      return typeof u.reason === 'string' ? { _tag: 'Failed', reason: u.reason } : undefined
    case 'status':
      return typeof u.active === 'number' && typeof u.accepted === 'number' && typeof u.state === 'string'
        ? { _tag: 'Status', active: u.active, accepted: u.accepted, state: u.state }
        : undefined
    default:
      return undefined
  }
}

export const encodeChildMessage = (m: ChildMessage): string => {
  switch (m._tag) {
    case 'Ready':
      return '{"type":"ready"}\n'
    case 'Draining':
      return '{"type":"draining"}\n'
    case 'Failed':
      return `${JSON.stringify({ type: 'failed', reason: m.reason })}\n`
    case 'Status':
      return `${JSON.stringify({ type: 'status', active: m.active, accepted: m.accepted, state: m.state })}\n`
  }
}

/** What a supervisor says to a worker. */
export type ParentMessage = { readonly _tag: 'Stop' } | { readonly _tag: 'StatusRequest' }

export const decodeParentMessage = (line: string): ParentMessage | undefined => {
  const u = parseRecord(line)
  if (u === undefined) return undefined
  return u.type === 'stop' ? { _tag: 'Stop' } : u.type === 'status' ? { _tag: 'StatusRequest' } : undefined
}

export const encodeParentMessage = (m: ParentMessage): string => (m._tag === 'Stop' ? '{"type":"stop"}\n' : '{"type":"status"}\n')
