/**
 * Wiring: the real OS capabilities behind a serving process's effects (see interpreter.ts), built in one
 * place from the running parts (listeners, pidfile lock, control socket, logger, connections, protocol).
 */
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import * as TE from 'fp-ts/TaskEither'
import { formatProblems, show } from '../../core/codec'
import { formatCommand, startCommand } from '../../core/command'
import { childLayout, inheritEnv } from '../../core/wire/inherit'
import type { ControlServer } from '../../shell/control/server'
import type { ControlSocket } from '../../shell/control/socket'
import type { Listeners } from '../../shell/listener'
import { childEnvironment } from '../../shell/os/childEnv'
import { compileCacheForChildren } from '../../shell/os/compileCache'
import { spawnChild } from '../../shell/os/spawn'
import { describePidfileError, writePidfile } from '../../shell/os/pidfile'
import type { Pidlock } from '../../shell/os/pidlock'
import { currentProcess } from '../../shell/os/self'
import { after, nextTurn } from '../../shell/os/timer'
import type { Connections } from '../../shell/protocol/connections'
import type { Protocol } from '../../shell/protocol/protocol'
import type { Prepared } from '../prepare'
import { finish, removeSocketFiles } from '../finish'
import type { Os } from './interpreter'

/** The control socket and the server answering on it. */
export interface Control {
  readonly socket: ControlSocket
  readonly server: ControlServer
}

export interface Live extends Prepared {
  readonly listeners: Listeners
  readonly pidlock: Pidlock
  readonly control: O.Option<Control>
  readonly connections: Connections
  readonly protocol: Protocol
  readonly onExit: (code: number) => void
  /** This process has closed its listeners. */
  readonly stoppedAccepting: () => void
}

export const liveOs = (live: Live): Os => {
  const { config, listeners, log, control } = live
  const compileCache = compileCacheForChildren(config.compileCache, (reason) =>
    log.warn({ event: 'compile-cache-off', reason }, `Node's compile cache is not used for new processes: ${reason}`),
  )
  // whatever happens to a socket file, the listeners are then closed and the drain goes on
  const socketFilesRemoved = removeSocketFiles(listeners, log)

  return {
    spawnSuccessor: (attempt, on) => {
      const command = startCommand(config.startCommand, currentProcess())
      // the successor finds the listeners at 3, 4, ..., then the pidfile lock and the control socket, then the channel
      const controlFd = O.map((c: Control) => c.socket.fd)(control)
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
          control: pipe(
            layout.control,
            O.flatMap((fd) => O.map((c: Control) => ({ fd, socketId: c.socket.socketId }))(control)),
          ),
        }),
      })
      const s = spawnChild(
        { command, env, pass, readyTimeoutMs: config.readyTimeoutMs },
        {
          ...on,
          malformed: (line, problems) =>
            log.debug({ event: 'channel-malformed', attempt, line: show(line), problems }, `a line from the successor is not a message: ${formatProblems(problems)}`),
        },
      )
      log.info(
        { event: 'successor-spawned', attempt, successorPid: s.pid ?? null, command: formatCommand(command) },
        `successor ${String(s.pid)} started; waiting up to ${config.readyTimeoutMs} ms for it to be ready`,
      )
      return s
    },
    after,
    nextTurn,
    writePidfile: () => (O.isSome(live.pidfile) ? pipe(writePidfile(live.pidfile.value, process.pid), TE.mapLeft(describePidfileError)) : TE.right(undefined)),
    removeSocketFiles: () => socketFilesRemoved,
    closeListeners: (reason) => {
      for (const l of listeners) l.server.close()
      live.stoppedAccepting()
      live.protocol.drain(live.connections.openSockets())
      live.hooks.draining(reason)
    },
    destroyConnections: () => {
      live.connections.destroyAll()
    },
    answer: (requests, outcome) => {
      if (O.isSome(control)) control.value.server.answer(requests, outcome)
    },
    releaseControl: () => {
      if (O.isSome(control)) control.value.server.close()
    },
    closeControl: async (removeFile) => {
      if (O.isNone(control)) return
      control.value.server.destroyAll()
      if (removeFile) await control.value.socket.removeFile()()
    },
    stopped: async (code) => {
      live.protocol.stopped()
      await live.hooks.exit(code)
    },
    finish: (code) => finish(live, code),
    log: (level, event, msg, fields) => {
      log[level]({ event, ...fields }, msg)
    },
  }
}
