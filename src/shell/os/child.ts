/**
 * Child processes a server starts (a successor that takes over, or a supervisor's worker): the start
 * command runs in a process group of its own with the server's sockets at fds 3, 4, ... and a channel
 * (a socket pair) after them, and exactly one start outcome is reported: ready (the child said so on the
 * channel), or failed (spawn error, exit, or not ready within the ready timeout). A ready child is
 * watched on until it is released: its exit is reported. A child that fails to start may say why on the
 * channel first; the reason goes with the failure.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { Duplex, Readable } from 'node:stream'
import type * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import type { Problem } from '../../core/codec'
import type { Command } from '../../core/command'
import type { ChildMessage, decodeChildMessage } from '../../core/wire/channel'
import { relayLines } from '../log/relay'
import { eachLine } from './eachLine'
import type { SuccessorFailure } from '../../core/lifecycle'

export interface ChildSpec {
  readonly command: Command
  readonly env: NodeJS.ProcessEnv
  /** This process's fds to pass: the child finds them at 3, 4, ... in this order, and the channel right after. */
  readonly pass: readonly number[]
  readonly readyTimeoutMs: number
  /**
   * Where the child's stdout and stderr lines go, each read through a socket pair of its own (see
   * log/relay.ts); one not given is this process's own, inherited.
   */
  readonly output?: { readonly stdout?: OutputLines; readonly stderr?: OutputLines }
}

/** Takes each whole line a child printed (newline included). */
export type OutputLines = (line: Uint8Array) => void

export interface ChildEvents {
  readonly ready: (pid: number) => void
  readonly failed: (pid: number | null, failure: SuccessorFailure) => void
  /** A ready child exited (reported until it is released). */
  readonly exited: (pid: number, code: number | null, signal: string | null) => void
  /** A message after ready (a worker's status). */
  readonly message?: (m: ChildMessage) => void
  /** A line on the channel that is not a message (a bug: the channel is ours). */
  readonly malformed?: (line: string, problems: RNEA.ReadonlyNonEmptyArray<Problem>) => void
}

export interface Child {
  readonly pid: number | undefined
  /** The channel, this side: for messages to a worker. */
  readonly channel: Duplex | undefined
  /** SIGKILL its whole process group: a `sh -c` wrapper and whatever it started. */
  readonly kill: () => void
  /** SIGTERM its process group: a child still starting then exits without taking over; a worker drains. Still watched. */
  readonly terminate: () => void
  /** SIGKILL its process group, and go on watching: its exit is still reported. */
  readonly killWatched: () => void
  /** It lives on alone: stop watching it, close the channel, let this process exit without waiting for it. */
  readonly release: () => void
  /** Resolves once every output it was given (ChildSpec.output) has been read to its end. */
  readonly outputEnded: Promise<void>
}

/** After a child exits before it is ready, how long its last words on the channel are waited for. */
const CHANNEL_GRACE_MS = 200

const signalGroup = (child: ChildProcess, signal: NodeJS.Signals): void => {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    child.kill(signal) // no group (already gone, or not its leader): the process itself
  }
}

/** Out of file descriptors (EMFILE), spawn returns a child without stdio, whatever the typings say, and emits 'error' a tick later. */
const stdioOf = (child: ChildProcess): ChildProcess['stdio'] | undefined => child.stdio

/** Reads a line of the channel (core/wire/channel.ts; passed in by spawn.ts). */
export type ReadChannel = typeof decodeChildMessage

export const spawnChild = (spec: ChildSpec, on: ChildEvents, read: ReadChannel): Child => {
  const child = spawn(spec.command.file, spec.command.args, {
    stdio: ['inherit', spec.output?.stdout !== undefined ? 'pipe' : 'inherit', spec.output?.stderr !== undefined ? 'pipe' : 'inherit', ...spec.pass, 'pipe'],
    env: spec.env,
    cwd: spec.command.cwd,
    detached: true, // own process group, so a failed start can be killed with all it spawned
  })
  // a 'pipe' past stdio is a socket
  const stdio = stdioOf(child)
  const end = stdio?.[3 + spec.pass.length]
  const channel = end instanceof Duplex ? end : undefined
  const relay = (lines: OutputLines | undefined, stream: unknown): Promise<void> => (lines !== undefined && stream instanceof Readable ? relayLines(stream, lines) : Promise.resolve())
  const relayed = [relay(spec.output?.stdout, stdio?.[1]), relay(spec.output?.stderr, stdio?.[2])]
  // starting: the first outcome is reported; ready: only its exit is; done: nothing
  let phase: 'starting' | 'ready' | 'done' = 'starting'
  let reason: string | undefined
  let waiting: string | null = null

  const fail = (failure: SuccessorFailure): void => {
    if (phase !== 'starting') return
    phase = 'done'
    clearTimeout(timer)
    on.failed(child.pid ?? null, failure)
  }
  child.once('error', (err) => {
    fail({ _tag: 'SpawnFailed', message: err.message })
  })
  let channelEnded = channel === undefined
  let onChannelEnd = (): void => undefined
  child.once('exit', (code, signal) => {
    if (phase === 'ready' && child.pid !== undefined) {
      phase = 'done'
      on.exited(child.pid, code, signal)
      return
    }
    // what it said last may still be on its way: wait for the channel to end (a grandchild may hold it open: not long)
    const report = (): void => fail({ _tag: 'Exited', code, signal, reason: reason ?? null })
    if (channelEnded) {
      report()
      return
    }
    const grace = setTimeout(report, CHANNEL_GRACE_MS)
    onChannelEnd = () => {
      clearTimeout(grace)
      report()
    }
  })
  if (channel !== undefined) {
    channel.on('error', () => undefined) // EPIPE/ECONNRESET when the child dies: its exit reports it
    const lines = eachLine(channel, (line) => {
      const decoded = read(line)
      // fp-ts's isLeft, without importing fp-ts into a module loaded on first use (see spawn.ts)
      if (decoded._tag === 'Left') {
        on.malformed?.(line, decoded.left)
        return
      }
      const m = decoded.right
      if (m._tag === 'Failed') reason = m.reason
      else if (m._tag === 'Waiting') waiting = m.reason
      else if (m._tag === 'Ready' && phase === 'starting' && child.pid !== undefined) {
        phase = 'ready'
        clearTimeout(timer)
        on.ready(child.pid)
      } else if (phase === 'ready') on.message?.(m)
    })
    lines.once('close', () => {
      channelEnded = true
      onChannelEnd()
    })
  }
  const timer = setTimeout(() => {
    // a ready line that arrived in this same loop turn is read in the poll phase, after timers: let it win
    setImmediate(() => {
      fail({ _tag: 'TimedOut', afterMs: spec.readyTimeoutMs, reason: waiting })
    })
  }, spec.readyTimeoutMs)

  const stopWatching = (): void => {
    phase = 'done'
    clearTimeout(timer)
  }
  return {
    pid: child.pid,
    channel,
    kill: () => {
      stopWatching()
      channel?.destroy()
      signalGroup(child, 'SIGKILL')
    },
    terminate: () => signalGroup(child, 'SIGTERM'),
    killWatched: () => signalGroup(child, 'SIGKILL'),
    release: () => {
      stopWatching()
      channel?.destroy()
      child.removeAllListeners('exit')
      child.unref()
    },
    outputEnded: Promise.all(relayed).then(() => undefined),
  }
}
