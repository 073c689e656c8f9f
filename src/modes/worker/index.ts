/**
 * Worker mode: this process serves for a supervisor, which started it with the listeners and a
 * channel. It checks what it was given, listens, says ready on the channel and keeps it open: the
 * supervisor asks it to stop there (and for its status), and when the supervisor is gone (its end
 * closes, even after a SIGKILL) the worker drains and exits: no orphans. A worker never restarts
 * itself, never writes the pidfile, and never touches the socket files (the supervisor owns them).
 */
import net = require('node:net')
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as TE from 'fp-ts/TaskEither'
import { formatProblems, type Problem, show } from '../../core/codec'
import { decodeParentMessage, encodeChildMessage, type ParentMessage } from '../../core/wire/channel'
import type { InheritedWorker } from '../../core/wire/inherit'
import type { Event } from '../../core/lifecycle'
import type { ServeError } from '../errors'
import { checkInherited, type ListenError, type Listeners, takeAll } from '../../shell/listener'
import type { Log } from '../../shell/log/logger'
import { eachLine } from '../../shell/os/eachLine'
import { fallBackNow } from '../../shell/log/destination'
import type { Prepared, Stopped } from '../prepare'
import { NO_LOCK, settleSignals, stoppedWhileStarting } from '../start'
import { type Lifecycle, type MakeProtocol, type Parent, run, type Serving, serving } from '../lifecycle/run'

const BY_SUPERVISOR: Event = { _tag: 'StopRequested', by: 'supervisor' }
const SUPERVISOR_GONE: Event = { _tag: 'StopRequested', by: 'supervisor-gone' }

/** The supervisor's side of the channel, as the worker sees it once it is ready. */
export const supervisorChannel = (inherited: InheritedWorker, log: Log): Parent => {
  let opened: net.Socket | undefined
  return {
    keepChannel: true,
    restartsElsewhere: O.some(inherited.parentPid),
    // the supervisor answers a restart only once no old worker accepts any more
    stoppedAccepting: () => {
      if (opened?.writable === true) opened.write(encodeChildMessage({ _tag: 'Draining' }))
    },
    attach: (runtime: Lifecycle) => {
      const channel = new net.Socket({ fd: inherited.channelFd, readable: true, writable: true })
      opened = channel
      channel.unref() // it must not keep a drained worker alive
      channel.on('error', () => undefined) // its close says what matters
      channel.once('close', () => {
        fallBackNow() // the log goes on to the server's own stdout (see shell/log/relay.ts)
        runtime.dispatch(SUPERVISOR_GONE)
      })
      eachLine(channel, (line) => {
        E.match(
          (problems: readonly Problem[]) =>
            log.debug({ event: 'channel-malformed', line: show(line), problems }, `a line from the supervisor is not a message: ${formatProblems(problems)}`),
          (m: ParentMessage) => {
            if (m._tag === 'Stop') runtime.dispatch(BY_SUPERVISOR)
            else {
              // the request's id goes back with the answer (none for an older supervisor, which matches answers in order)
              const state = runtime.state()
              channel.write(encodeChildMessage({ _tag: 'Status', id: m.id, active: state.connections.active, accepted: state.connections.accepted, state: state._tag }))
            }
          },
        )(decodeParentMessage(line))
      })
    },
  }
}

/**
 * The supervisor keeps the control socket across restarts, as it keeps the listeners: a config that adds
 * or drops `controlPath` is refused, as a standalone successor refuses it.
 */
export const checkControl = (p: Prepared, inherited: InheritedWorker): E.Either<ListenError, void> =>
  O.isSome(p.config.controlPath) === inherited.supervisorControl ? E.right(undefined) : E.left({ _tag: 'ControlChanged', added: O.isSome(p.config.controlPath) })

/**
 * A worker's start, once it knows how to get its listeners (`listen`, run only if no stop came while it
 * started): what it inherited checked against its config, the signals sent so far settled, then the
 * lifecycle on those listeners. `own`: the config as a worker uses it (no pidfile: the supervisor's names
 * the supervisor). A plain worker listens on what it inherited at once; a run worker (modes/app) waits
 * for its application's listen() calls.
 */
export const startWorker = (own: Prepared, s: Serving, inherited: InheritedWorker, listen: TE.TaskEither<ServeError, Listeners>): TE.TaskEither<ServeError, Stopped> =>
  pipe(
    TE.fromEither(checkInherited(inherited, own.config.binds)),
    TE.flatMapEither(() => checkControl(own, inherited)),
    TE.flatMap(() => settleSignals),
    TE.flatMap(
      (): TE.TaskEither<ServeError, Stopped> =>
        stoppedWhileStarting(own)
          ? TE.right({ code: 0 })
          : pipe(
              listen,
              TE.flatMapTask((listeners) => run(own, s, listeners, NO_LOCK, supervisorChannel(inherited, own.log))),
            ),
    ),
  )

/** The config as a worker uses it: the supervisor's pidfile names the supervisor. */
export const asWorker = (p: Prepared): Prepared => ({ ...p, pidfile: O.none })

/** Serves for the supervisor that started this process. */
export const worker = (p: Prepared, inherited: InheritedWorker, makeProtocol: MakeProtocol): TE.TaskEither<ServeError, Stopped> => {
  const own = asWorker(p)
  const s = serving(own, makeProtocol)
  return startWorker(own, s, inherited, takeAll(s.makeServer, inherited, own.config.socketMode))
}
