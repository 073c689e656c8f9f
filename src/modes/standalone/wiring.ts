/**
 * Wiring: the real capabilities behind the interpreter, built in one place from the running parts
 * (listener, logger, connections, protocol) and the OS.
 */
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as TE from 'fp-ts/TaskEither'
import { formatCommand, startCommand } from '../../core/command'
import type { Config } from '../../core/config'
import { CHILD_FDS, inheritEnv } from '../../core/inherit'
import type { Event } from '../../core/lifecycle'
import type { Connections } from '../../shell/protocol/connections'
import { messageOf } from '../../shell/os/errno'
import type { Capabilities } from './interpreter'
import { type Listener, removeOwnSocketFile } from '../../shell/listener/listener'
import { loadSuccessor } from '../../shell/os/lazy'
import { currentProcess } from '../../shell/os/self'
import { describePidfileError, removeOwnPidfile, writePidfile } from '../../shell/os/pidfile'
import type { Protocol } from '../../shell/protocol/protocol'
import type { Log } from '../../shell/log/logger'
import type { Successor } from '../../shell/os/successor'

/** At most this many event-loop turns are spent accepting queued connections before a final close. */
const MAX_ACCEPT_TURNS = 100

export interface Live {
  readonly config: Config
  readonly listener: Listener
  readonly log: Log
  readonly generation: number
  /** Absolute pidfile path, if any. */
  readonly pidfile: O.Option<string>
  readonly dispatch: (event: Event) => void
  readonly connections: Connections
  readonly protocol: Protocol
  readonly onExit: (code: number) => void
}


export const liveCapabilities = (live: Live): Capabilities => {
  const { config, listener, log, dispatch } = live
  const successors = new Map<number, Successor>()
  const take = (attempt: number): Successor | undefined => {
    const s = successors.get(attempt)
    successors.delete(attempt)
    return s
  }

  const spawn = (attempt: number): void => {
    const command = startCommand(config.startCommand, currentProcess())
    const env = {
      ...process.env,
      PWD: command.cwd,
      ...inheritEnv({
        listenFd: CHILD_FDS.listen,
        readyFd: CHILD_FDS.ready,
        generation: live.generation + 1,
        bind: listener.bind,
        socketId: listener.socketId,
        parentPid: process.pid,
        restartSignal: config.restartSignal,
      }),
    }
    try {
      const s = loadSuccessor().spawnSuccessor({ attempt, command, env, listenFd: listener.fd, readyTimeoutMs: config.readyTimeoutMs }, dispatch)
      successors.set(attempt, s)
      log.info(
        { event: 'successor-spawned', attempt, successorPid: s.pid ?? null, command: formatCommand(command) },
        `successor ${String(s.pid)} started; waiting up to ${config.readyTimeoutMs} ms for it to be ready`,
      )
    } catch (err) {
      dispatch({ _tag: 'SuccessorFailed', attempt, pid: null, failure: { _tag: 'SpawnFailed', message: messageOf(err) } })
    }
  }

  // whatever happens to the socket file, the listener is then closed and the drain goes on
  const removeSocketFile: TE.TaskEither<never, void> = pipe(
    removeOwnSocketFile(listener),
    TE.match(
      (err) => log.error({ event: 'socket-file', outcome: 'failed', error: err.message }, `could not remove the socket file: ${err.message}`),
      (outcome) => {
        if (outcome !== 'none') {
          log.info({ event: 'socket-file', outcome, path: listener.address }, `socket file ${outcome === 'removed' ? 'removed' : `left alone (${outcome})`}`)
        }
      },
    ),
    TE.fromTask,
  )

  // On a final stop, closing the listener would reset connections still queued in its backlog (on a
  // handoff the successor accepts those). So first accept until a whole turn of the event loop, poll
  // phase included, brings no new connection. A UNIX path is already gone, so that comes quickly; a TCP
  // port keeps receiving connections while it is open, hence the bound.
  const acceptQueued: TE.TaskEither<string, void> = TE.fromTask(
    () =>
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
      }),
  )

  let drainTimer: NodeJS.Timeout | undefined
  let probationTimer: NodeJS.Timeout | undefined

  const startProbation = (attempt: number): void => {
    const passed = (): void => dispatch({ _tag: 'ProbationPassed', attempt })
    if (config.probationMs === 0) passed()
    else probationTimer = setTimeout(passed, config.probationMs)
  }

  const stopAccepting = (final: boolean): TE.TaskEither<string, void> =>
    pipe(
      final ? pipe(removeSocketFile, TE.flatMap(() => acceptQueued)) : TE.right(undefined),
      TE.map(() => {
        listener.server.close()
        live.protocol.drain(live.connections.openSockets())
        if (O.isSome(config.drainTimeoutMs)) {
          drainTimer = setTimeout(() => dispatch({ _tag: 'DrainTimedOut' }), config.drainTimeoutMs.value).unref()
        }
        dispatch({ _tag: 'ListenerClosed' })
      }),
    )

  const removePidfile: TE.TaskEither<string, void> = pipe(
    removeOwnPidfile(live.pidfile),
    TE.mapLeft(messageOf),
    TE.map((outcome) => log.debug({ event: 'pidfile', outcome }, `pidfile ${outcome}`)),
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
      take(attempt)?.release()
    },
    restorePidfile: () =>
      O.isSome(live.pidfile)
        ? pipe(writePidfile(live.pidfile.value, process.pid), TE.mapLeft(describePidfileError))
        : TE.right(undefined),
    stopAccepting,
    destroyConnections: () => {
      live.connections.destroyAll()
    },
    exit: (code) => async () => {
      clearTimeout(drainTimer)
      clearTimeout(probationTimer)
      for (const s of successors.values()) s.kill()
      successors.clear()
      const removed = await removePidfile()
      if (E.isLeft(removed)) log.error({ event: 'pidfile', error: removed.left }, `could not remove the pidfile: ${removed.left}`)
      log.info({ event: 'exit', code }, `exiting with code ${code}`)
      live.onExit(code)
      return E.right(undefined)
    },
    log: (level, event, msg, fields) => {
      log[level]({ event, ...fields }, msg)
    },
  }
}
