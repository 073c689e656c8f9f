/**
 * Wiring: the real capabilities behind a serving process's interpreter, built in one place from the
 * running parts (listeners, pidfile lock, control socket, logger, connections, protocol) and the OS.
 */
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import * as T from 'fp-ts/Task'
import * as TE from 'fp-ts/TaskEither'
import { formatCommand, startCommand } from '../../core/command'
import { childLayout, inheritEnv } from '../../core/inherit'
import type { DrainReason, Event } from '../../core/lifecycle'
import type { RestartOutcome } from '../../core/outcome'
import type { ControlServer } from '../../shell/control/server'
import type { ControlSocket } from '../../shell/control/socket'
import type { Listeners } from '../../shell/listener'
import type { Child } from '../../shell/os/child'
import { messageOf } from '../../shell/os/errno'
import { childEnvironment } from '../../shell/os/childEnv'
import { compileCacheForChildren } from '../../shell/os/compileCache'
import { spawnChild } from '../../shell/os/spawn'
import { describePidfileError, writePidfile } from '../../shell/os/pidfile'
import type { Pidlock } from '../../shell/os/pidlock'
import { currentProcess } from '../../shell/os/self'
import type { Connections } from '../../shell/protocol/connections'
import type { Protocol } from '../../shell/protocol/protocol'
import type { Prepared } from '../prepare'
import { finish, removeSocketFiles } from '../finish'
import type { Capabilities } from './interpreter'

/** At most this many event-loop turns are spent accepting queued connections before a final close. */
const MAX_ACCEPT_TURNS = 100

/** The control socket and the server answering on it. */
export interface Control {
  readonly socket: ControlSocket
  readonly server: ControlServer
}

export interface Live extends Prepared {
  readonly listeners: Listeners
  readonly pidlock: Pidlock
  readonly control: O.Option<Control>
  /** A restart ended: the status reports it. */
  readonly record: (outcome: RestartOutcome) => void
  readonly dispatch: (event: Event) => void
  readonly connections: Connections
  readonly protocol: Protocol
  readonly onExit: (code: number) => void
  /** This process has closed its listeners. */
  readonly stoppedAccepting: () => void
}

export const liveCapabilities = (live: Live): Capabilities => {
  const { config, listeners, log, dispatch } = live
  const successors = new Map<number, Child>()
  const compileCache = compileCacheForChildren(config.compileCache, (reason) =>
    log.warn({ event: 'compile-cache-off', reason }, `Node's compile cache is not used for new processes: ${reason}`),
  )
  const take = (attempt: number): Child | undefined => {
    const s = successors.get(attempt)
    successors.delete(attempt)
    return s
  }

  const spawn = (attempt: number): void => {
    const command = startCommand(config.startCommand, currentProcess())
    // the successor finds the listeners at 3, 4, ..., then the pidfile lock and the control socket, then the channel
    const controlFd = O.map((c: Control) => c.socket.fd)(live.control)
    const pass = [...listeners.map((l) => l.fd), ...(O.isSome(live.pidlock.fd) ? [live.pidlock.fd.value] : []), ...(O.isSome(controlFd) ? [controlFd.value] : [])]
    const layout = childLayout(listeners.length, O.isSome(live.pidlock.fd), O.isSome(controlFd))
    const env = childEnvironment({
      cwd: command.cwd,
      compileCache: compileCache(),
      inherit: inheritEnv({
        role: 'successor',
        generation: live.generation + 1,
        parentPid: process.pid,
        restartSignal: config.restartSignal,
        channelFd: layout.channel,
        listeners: RNEA.mapWithIndex((i, l: Listeners[number]) => ({ bind: l.bind, fd: layout.listeners[i] ?? -1, socketId: l.socketId }))(listeners),
        pidlockFd: layout.pidlock,
        slot: O.none,
        supervisorControl: false,
        control: pipe(
          layout.control,
          O.flatMap((fd) => O.map((c: Control) => ({ fd, socketId: c.socket.socketId }))(live.control)),
        ),
      }),
    })
    const failed = (pid: number | null, failure: Extract<Event, { _tag: 'SuccessorFailed' }>['failure']): void =>
      dispatch({ _tag: 'SuccessorFailed', attempt, pid, failure })
    try {
      const s = spawnChild(
        { command, env, pass, readyTimeoutMs: config.readyTimeoutMs },
        {
          ready: (pid) => dispatch({ _tag: 'SuccessorReady', attempt, pid }),
          failed,
          exited: (pid, code, signal) => dispatch({ _tag: 'SuccessorExited', attempt, pid, code, signal }),
        },
      )
      successors.set(attempt, s)
      log.info(
        { event: 'successor-spawned', attempt, successorPid: s.pid ?? null, command: formatCommand(command) },
        `successor ${String(s.pid)} started; waiting up to ${config.readyTimeoutMs} ms for it to be ready`,
      )
    } catch (err) {
      failed(null, { _tag: 'SpawnFailed', message: messageOf(err) })
    }
  }

  // whatever happens to a socket file, the listeners are then closed and the drain goes on
  const socketFilesRemoved = removeSocketFiles(listeners, log)

  // On a final stop, closing the listeners would reset connections still queued in their backlogs (on a
  // handoff the successor accepts those). So first accept until a whole turn of the event loop, poll
  // phase included, brings no new connection. A UNIX path is already gone, so that comes quickly; a TCP
  // port keeps receiving connections while it is open, hence the bound.
  const acceptQueued: T.Task<void> = () =>
    new Promise<void>((resolve) => {
      let seen = live.connections.accepted()
      let turns = 0
      const turn = (): void => {
        setImmediate(() =>
          setImmediate(() => {
            const now = live.connections.accepted()
            if (now === seen || ++turns >= MAX_ACCEPT_TURNS) resolve()
            else {
              seen = now
              turn()
            }
          }),
        )
      }
      turn()
    })

  let drainTimer: NodeJS.Timeout | undefined
  // a final stop leaves nobody to answer on the control socket: its file goes at exit
  let final = false
  let probationTimer: NodeJS.Timeout | undefined

  const startProbation = (attempt: number): void => {
    const passed = (): void => dispatch({ _tag: 'ProbationPassed', attempt })
    if (config.probationMs === 0) passed()
    else probationTimer = setTimeout(passed, config.probationMs)
  }

  const stopAccepting = (reason: DrainReason, last: boolean): TE.TaskEither<string, void> =>
    pipe(
      TE.fromIO(() => {
        final = last
      }),
      TE.flatMap(() => (last ? pipe(socketFilesRemoved, TE.flatMap(() => TE.fromTask(acceptQueued))) : TE.right(undefined))),
      TE.map(() => {
        for (const l of listeners) l.server.close()
        live.stoppedAccepting()
        live.protocol.drain(live.connections.openSockets())
        live.hooks.draining(reason)
        if (O.isSome(config.drainTimeoutMs)) {
          drainTimer = setTimeout(() => dispatch({ _tag: 'DrainTimedOut' }), config.drainTimeoutMs.value).unref()
        }
        dispatch({ _tag: 'ListenerClosed' })
      }),
    )

  return {
    spawnSuccessor: spawn,
    killSuccessor: (attempt) => {
      clearTimeout(probationTimer)
      take(attempt)?.kill()
    },
    // kept in the map: one still there when this process exits is killed then
    stopSuccessor: (attempt) => successors.get(attempt)?.terminate(),
    startProbation,
    releaseSuccessor: (attempt) => {
      clearTimeout(probationTimer)
      // the successor is in charge now: it takes the control socket once its channel closes
      if (O.isSome(live.control)) live.control.value.server.close()
      take(attempt)?.release()
    },
    restorePidfile: () =>
      O.isSome(live.pidfile) ? pipe(writePidfile(live.pidfile.value, process.pid), TE.mapLeft(describePidfileError)) : TE.right(undefined),
    stopAccepting,
    destroyConnections: () => {
      live.connections.destroyAll()
    },
    answer: (requests, outcome) => {
      if (outcome._tag !== 'RestartRefused') live.record(outcome)
      if (O.isSome(live.control)) live.control.value.server.answer(requests, outcome)
    },
    exit: (code, now) => async () => {
      clearTimeout(drainTimer)
      clearTimeout(probationTimer)
      for (const s of successors.values()) s.kill()
      successors.clear()
      if (!now) {
        live.protocol.stopped()
        await live.hooks.exit(code)
      }
      if (O.isSome(live.control)) {
        const { socket, server } = live.control.value
        server.destroyAll()
        if (final) await socket.removeFile()()
      }
      await finish(live, code)
      return E.right(undefined)
    },
    log: (level, event, msg, fields) => {
      log[level]({ event, ...fields }, msg)
    },
  }
}
