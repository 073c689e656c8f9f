/**
 * Wiring: the real capabilities behind the supervisor's interpreter: worker processes (spawned with the
 * sockets and a channel, asked to stop on it, killed with their process group), timers, the socket
 * files, the pidfile and the log.
 */
import fs = require('node:fs')
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import { encodeParentMessage } from '../../core/channel'
import { formatCommand, startCommand } from '../../core/command'
import { childLayout, inheritEnv } from '../../core/inherit'
import type { RestartOutcome } from '../../core/outcome'
import type { Event } from '../../core/supervisor'
import type { BoundSocket, BoundSockets } from '../../shell/listener/bound'
import type { Child } from '../../shell/os/child'
import { messageOf } from '../../shell/os/errno'
import { childEnvironment } from '../../shell/os/childEnv'
import { compileCacheForChildren } from '../../shell/os/compileCache'
import { spawnChild } from '../../shell/os/spawn'
import type { Pidlock } from '../../shell/os/pidlock'
import { stopwatch } from '../../shell/os/clock'
import { currentProcess } from '../../shell/os/self'
import type { Prepared } from '../prepare'
import { finish, removeSocketFiles } from '../finish'
import type { Control } from '../lifecycle/wiring'
import type { Capabilities } from './interpreter'

export interface Supervising extends Prepared {
  readonly sockets: BoundSockets
  readonly pidlock: Pidlock
  readonly control: O.Option<Control>
  readonly dispatch: (event: Event) => void
  /** A restart ended: the status reports it. */
  readonly record: (outcome: RestartOutcome) => void
  readonly onExit: (code: number) => void
}

interface Running {
  readonly child: Child
  ready: boolean
  /** Status requests sent on its channel, answered in order. */
  readonly asked: ((s: WorkerCounts | null) => void)[]
}

export interface WorkerCounts {
  readonly active: number
  readonly accepted: number
  readonly state: string
}

/** How long a worker may take to answer a status request. */
const STATUS_TIMEOUT_MS = 1000

/** Asks the running workers for their counts: what a status reports. */
export interface WorkerStatuses {
  readonly ask: (id: number) => Promise<WorkerCounts | null>
}

export const supervisorCapabilities = (live: Supervising): Capabilities & WorkerStatuses => {
  const { config, sockets, log, dispatch } = live
  const workers = new Map<number, Running>()
  const compileCache = compileCacheForChildren(config.compileCache, (reason) =>
    log.warn({ event: 'compile-cache-off', reason }, `Node's compile cache is not used for new processes: ${reason}`),
  )
  const timers = new Set<NodeJS.Timeout>()
  const after = (ms: number, f: () => void): void => {
    const t = setTimeout(() => {
      timers.delete(t)
      f()
    }, ms)
    timers.add(t)
  }

  const spawnWorker = (id: number, slot: number, generation: number): void => {
    const command = startCommand(config.startCommand, currentProcess())
    const layout = childLayout(sockets.length, false, false)
    const env = childEnvironment({
      cwd: command.cwd,
      compileCache: compileCache(),
      inherit: inheritEnv({
        role: 'worker',
        generation,
        parentPid: process.pid,
        restartSignal: config.restartSignal,
        channelFd: layout.channel,
        // the socket files are the supervisor's: workers get no identity, so they never touch them
        listeners: RNEA.mapWithIndex((i, s: BoundSocket) => ({ bind: s.bind, fd: layout.listeners[i] ?? -1, socketId: O.none }))(sockets),
        pidlockFd: O.none,
        slot: O.some(slot),
        control: O.none,
        // the control socket stays here; the worker checks that its config still names one (or none)
        supervisorControl: O.isSome(live.control),
      }),
    })
    const upMs = stopwatch()
    try {
      const child: Child = spawnChild(
        { command, env, pass: sockets.map((s) => s.fd), readyTimeoutMs: config.readyTimeoutMs },
        {
          ready: (pid) => {
            const w = workers.get(id)
            if (w !== undefined) w.ready = true
            dispatch({ _tag: 'WorkerReady', id, pid })
          },
          failed: (pid, failure) => {
            workers.delete(id)
            child.killWatched() // a worker that timed out may still run, and a wrapper may leave children
            dispatch({ _tag: 'WorkerFailed', id, pid, failure })
          },
          exited: (pid, code, signal) => {
            for (const answer of workers.get(id)?.asked ?? []) answer(null)
            workers.delete(id)
            child.killWatched() // what it started goes with it
            dispatch({ _tag: 'WorkerExited', id, pid, code, signal, upMs: upMs() })
          },
          message: (m) => {
            if (m._tag === 'Status') workers.get(id)?.asked.shift()?.({ active: m.active, accepted: m.accepted, state: m.state })
            else if (m._tag === 'Draining') dispatch({ _tag: 'WorkerDraining', id })
          },
        },
      )
      workers.set(id, { child, ready: false, asked: [] })
      log.debug({ event: 'worker-spawned', worker: slot, generation, workerPid: child.pid ?? null, command: formatCommand(command) }, `worker ${slot} of generation ${generation} started (pid ${String(child.pid)})`)
    } catch (err) {
      dispatch({ _tag: 'WorkerFailed', id, pid: null, failure: { _tag: 'SpawnFailed', message: messageOf(err) } })
    }
  }

  // a ready worker is asked on its channel (a signal to its process group would reach what it started too);
  // one still starting does not read its channel yet: SIGTERM makes it exit without serving
  const stopWorker = (id: number): void => {
    const w = workers.get(id)
    if (w === undefined) return
    const channel = w.child.channel
    if (w.ready && channel?.writable === true) channel.write(encodeParentMessage({ _tag: 'Stop' }))
    else w.child.terminate()
  }

  const socketFilesRemoved = removeSocketFiles(sockets, log)

  return {
    spawnWorker,
    stopWorker,
    killWorker: (id) => workers.get(id)?.child.killWatched(),
    startProbation: (generation) => {
      const passed = (): void => dispatch({ _tag: 'ProbationPassed', generation })
      if (config.probationMs === 0) passed()
      else after(config.probationMs, passed)
    },
    scheduleRespawn: (slot, generation, delayMs) => after(delayMs, () => dispatch({ _tag: 'RespawnDue', slot, generation })),
    announceServing: (generation, pids) => {
      const addresses = sockets.map((s) => s.address)
      log.info(
        { event: 'listening', bind: RNEA.head(sockets).address, ...(sockets.length > 1 ? { binds: addresses } : {}), inherited: false, supervisor: true, workers: pids.length, workerPids: [...pids], generation },
        `listening on ${addresses.join(', ')}: ${pids.length} worker(s) of generation ${generation} serve (pids ${pids.join(', ')})`,
      )
    },
    removeSocketFiles: () => socketFilesRemoved,
    // each closes once (see bound.ts): the exit closes whatever a stop has not
    closeSockets: () => {
      for (const s of sockets) s.close()
    },
    answer: (requests, outcome) => {
      if (outcome._tag !== 'RestartRefused') live.record(outcome)
      if (O.isSome(live.control)) live.control.value.server.answer(requests, outcome)
    },
    ask: (id) => {
      const w = workers.get(id)
      const channel = w?.child.channel
      if (w === undefined || !w.ready || channel?.writable !== true) return Promise.resolve(null)
      return new Promise((resolve) => {
        const timer = setTimeout(() => {
          const i = w.asked.indexOf(answer)
          if (i >= 0) w.asked.splice(i, 1)
          resolve(null)
        }, STATUS_TIMEOUT_MS)
        const answer = (s: WorkerCounts | null): void => {
          clearTimeout(timer)
          resolve(s)
        }
        w.asked.push(answer)
        channel.write(encodeParentMessage({ _tag: 'StatusRequest' }))
      })
    },
    exit: (code, now) => async () => {
      for (const t of timers) clearTimeout(t)
      timers.clear()
      if (now) for (const w of workers.values()) w.child.kill()
      for (const s of sockets) s.close()
      if (O.isSome(live.control)) {
        live.control.value.server.destroyAll()
        await live.control.value.socket.removeFile()()
      }
      await finish(live, code)
      return E.right(undefined)
    },
    log: (level, event, msg, fields) => {
      log[level]({ event, ...fields }, msg)
      // a supervisor that cannot start says why on stderr too, as any server that cannot start does
      if (event === 'start-failed') {
        try {
          fs.writeSync(2, `uninterruptible: ${msg}\n`)
        } catch {
          // stderr is gone: the exit code says it
        }
      }
    },
  }
}
