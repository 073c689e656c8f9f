/**
 * Successor: spawns the start command with the listening socket at fd 3 and a readiness pipe at fd 4,
 * in a process group of its own, and reports exactly one outcome as a lifecycle event: ready (a byte
 * arrived on the pipe), or failed (spawn error, exit, or no byte within the ready timeout). A ready
 * successor is watched on until it is released: its exit is reported (it was on probation).
 */
import { type ChildProcess, spawn } from 'node:child_process'
import type { Readable } from 'node:stream'
import type { Command } from '../../core/command'
import { CHILD_FDS } from '../../core/inherit'
import type { Event } from '../../core/lifecycle'

export interface SuccessorSpec {
  readonly attempt: number
  readonly command: Command
  readonly env: NodeJS.ProcessEnv
  readonly listenFd: number
  readonly readyTimeoutMs: number
}

export interface Successor {
  readonly pid: number | undefined
  /** SIGKILL its whole process group: a `sh -c` wrapper and whatever it started. */
  readonly kill: () => void
  /** SIGTERM its process group: a successor still starting then exits without taking over. */
  readonly terminate: () => void
  /** It is ready and lives on alone: stop watching it and let this process exit without waiting for it. */
  readonly release: () => void
}

const signalGroup = (child: ChildProcess, signal: NodeJS.Signals): void => {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, signal)
  } catch {
    child.kill(signal) // no group (already gone, or not its leader): the process itself
  }
}

export const spawnSuccessor = (spec: SuccessorSpec, report: (e: Event) => void): Successor => {
  const child = spawn(spec.command.file, spec.command.args, {
    stdio: ['inherit', 'inherit', 'inherit', spec.listenFd, 'pipe'],
    env: spec.env,
    cwd: spec.command.cwd,
    detached: true, // own process group, so a failed start can be killed with all it spawned
  })
  // Out of file descriptors (EMFILE), spawn returns a child without stdio and emits 'error' a tick later
  const pipe = (child.stdio as ChildProcess['stdio'] | undefined)?.[CHILD_FDS.ready] as Readable | null | undefined
  const { attempt } = spec
  // starting: the first outcome is reported; ready: only its exit is (it is on probation); done: nothing
  let phase: 'starting' | 'ready' | 'done' = 'starting'

  const settle = (event: Event): void => {
    if (phase !== 'starting') return
    phase = event._tag === 'SuccessorReady' ? 'ready' : 'done'
    clearTimeout(timer)
    report(event)
  }
  const fail = (failure: Extract<Event, { _tag: 'SuccessorFailed' }>['failure']): void => {
    settle({ _tag: 'SuccessorFailed', attempt, pid: child.pid ?? null, failure })
  }

  child.once('error', (err) => {
    fail({ _tag: 'SpawnFailed', message: err.message })
  })
  child.once('exit', (code, signal) => {
    if (phase === 'ready' && child.pid !== undefined) {
      phase = 'done'
      report({ _tag: 'SuccessorExited', attempt, pid: child.pid, code, signal })
    } else fail({ _tag: 'Exited', code, signal })
  })
  pipe?.on('error', () => undefined) // EPIPE/ECONNRESET when the child dies: its exit reports it
  pipe?.once('data', () => {
    if (child.pid !== undefined) settle({ _tag: 'SuccessorReady', attempt, pid: child.pid })
  })
  const timer = setTimeout(() => {
    // a ready byte that arrived in this same loop turn is read in the poll phase, after timers: let it win
    setImmediate(() => {
      fail({ _tag: 'TimedOut', afterMs: spec.readyTimeoutMs })
    })
  }, spec.readyTimeoutMs)

  const stopWatching = (): void => {
    phase = 'done'
    clearTimeout(timer)
    pipe?.destroy()
  }
  return {
    pid: child.pid,
    kill: () => {
      stopWatching()
      signalGroup(child, 'SIGKILL')
    },
    terminate: () => {
      stopWatching()
      signalGroup(child, 'SIGTERM')
    },
    release: () => {
      stopWatching()
      child.removeAllListeners('exit')
      child.unref()
    },
  }
}
