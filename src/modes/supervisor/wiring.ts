/**
 * Wiring: the real OS capabilities behind the supervisor's effects (see interpreter.ts): worker processes
 * (spawned with the sockets and a channel, asked to stop and for their counts on it, killed with their
 * process group), timers, the socket files, the control socket, the pidfile and the log.
 */
import fs = require('node:fs')
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import { formatProblems, show } from '../../core/codec'
import { encodeParentMessage } from '../../core/wire/channel'
import { type Command, formatCommand, type Self, startCommand } from '../../core/command'
import { childLayout, inheritEnv } from '../../core/wire/inherit'
import type { BoundSocket, BoundSockets } from '../../shell/listener/bound'
import { outputsEnded, workerOutput } from '../../shell/log/relay'
import type { Child } from '../../shell/os/child'
import { childEnvironment } from '../../shell/os/childEnv'
import { compileCacheForChildren } from '../../shell/os/compileCache'
import { spawnChild } from '../../shell/os/spawn'
import type { Pidlock } from '../../shell/os/pidlock'
import { stopwatch } from '../../shell/os/clock'
import { currentProcess } from '../../shell/os/self'
import { after } from '../../shell/os/timer'
import { requestReply } from '../../shell/requestReply'
import type { Prepared } from '../prepare'
import { finish, removeSocketFiles } from '../finish'
import type { Control } from '../lifecycle/wiring'
import type { Os, WorkerCounts } from './interpreter'

/**
 * What a worker runs: by default this process's own command line (or `startCommand`) with the library's
 * preload; under `uninterruptible run`, the app's command with the app adapter (src/app.ts) and the
 * variable that tells it its config.
 */
export interface WorkerProgram {
  readonly command: (self: Self) => Command
  readonly preload: 'library' | 'app'
  readonly env: Readonly<Record<string, string>>
}

export const libraryWorkers = (config: Prepared['config']): WorkerProgram => ({ command: (self) => startCommand(config.startCommand, self), preload: 'library', env: {} })

export interface Live extends Prepared {
  readonly program: WorkerProgram
  readonly sockets: BoundSockets
  readonly pidlock: Pidlock
  readonly control: O.Option<Control>
  readonly onExit: (code: number) => void
}

/** How long a worker may take to answer a status request. */
const STATUS_TIMEOUT_MS = 1000
/** At exit, how long what the workers printed last may take to arrive (a subprocess that outlived its worker may hold its output open). */
const OUTPUT_WAIT_MS = 1000

export const liveOs = (live: Live): Os => {
  const { config, sockets, log } = live
  const compileCache = compileCacheForChildren(config.compileCache, (reason) =>
    log.warn({ event: 'compile-cache-off', reason }, `Node's compile cache is not used for new processes: ${reason}`),
  )
  const socketFilesRemoved = removeSocketFiles(sockets, log)
  const output = workerOutput()
  const passedOutput = [...(output.stdout !== undefined ? [1] : []), ...(output.stderr !== undefined ? [2] : [])]
  /** The workers' outputs still being read (see shell/log/relay.ts). */
  const outputs = new Set<Promise<void>>()

  return {
    spawnWorker: (_id, slot, generation, on) => {
      const command = live.program.command(currentProcess())
      const layout = childLayout(sockets.length, false, false, { stdout: output.stdout !== undefined, stderr: output.stderr !== undefined })
      const env = childEnvironment({
        cwd: command.cwd,
        compileCache: compileCache(),
        preload: live.program.preload,
        extra: live.program.env,
        inherit: inheritEnv({
          role: 'worker',
          generation,
          parentPid: process.pid,
          restartSignal: config.restartSignal,
          channelFd: layout.channel,
          // the socket files are the supervisor's: workers get no identity, so they never touch them
          listeners: RNEA.mapWithIndex((i, s: BoundSocket) => ({ bind: s.bind, fd: layout.listeners[i] ?? -1, socketId: O.none }))(sockets),
          slot,
          // the control socket stays here; the worker checks that its config still names one (or none)
          supervisorControl: O.isSome(live.control),
          output: layout.output,
        }),
      })
      const upMs = stopwatch()
      /** Status requests sent on its channel, by id; its exit answers the rest (with no counts). */
      const asked = requestReply<WorkerCounts, 'exited'>()
      const child: Child = spawnChild(
        // the server's own stdout and stderr go along when the worker's are passed on here (see shell/log/relay.ts)
        { command, env, pass: [...sockets.map((s) => s.fd), ...passedOutput], readyTimeoutMs: config.readyTimeoutMs, output },
        {
          ready: on.ready,
          failed: on.failed,
          exited: (pid, code, signal) => {
            asked.close('exited')
            on.exited(pid, code, signal, upMs())
          },
          message: (m) => {
            // an answer without an id (an older worker's) answers the oldest request
            if (m._tag === 'Status') asked.answer(O.toUndefined(m.id), { active: m.active, accepted: m.accepted, state: m.state })
            else if (m._tag === 'Draining') on.draining()
          },
          malformed: (line, problems) =>
            log.debug({ event: 'channel-malformed', worker: slot, workerPid: child.pid ?? null, line: show(line), problems }, `a line from worker ${slot} is not a message: ${formatProblems(problems)}`),
        },
      )
      const ended = child.outputEnded.then(() => {
        outputs.delete(ended)
      })
      outputs.add(ended)
      log.debug({ event: 'worker-spawned', worker: slot, generation, workerPid: child.pid ?? null, command: formatCommand(command) }, `worker ${slot} of generation ${generation} started (pid ${String(child.pid)})`)
      return {
        // a signal to its process group would reach what it started too; with no channel left, SIGTERM it
        askToStop: () => {
          const channel = child.channel
          if (channel?.writable === true) channel.write(encodeParentMessage({ _tag: 'Stop' }))
          else child.terminate()
        },
        terminate: child.terminate,
        kill: child.kill,
        killWatched: child.killWatched,
        status: async () => {
          const channel = child.channel
          if (channel?.writable !== true) return null
          const answered = await asked.request((id) => channel.write(encodeParentMessage({ _tag: 'StatusRequest', id: O.some(id) })), STATUS_TIMEOUT_MS)
          return E.isRight(answered) ? answered.right : null
        },
      }
    },
    after,
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
      if (O.isSome(live.control)) live.control.value.server.answer(requests, outcome)
    },
    closeControl: async () => {
      if (O.isNone(live.control)) return
      live.control.value.server.destroyAll()
      await live.control.value.socket.removeFile()()
    },
    finish: async (code) => {
      await outputsEnded(outputs, OUTPUT_WAIT_MS)
      await finish(live, code)
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
