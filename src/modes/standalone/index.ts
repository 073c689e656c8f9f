/**
 * Standalone mode: the process that serves also restarts itself. One TaskEither pipeline (take the
 * pidfile lock, acquire the listeners or check the inherited ones, write the pidfile, tell the parent we
 * are ready) that ends in the running lifecycle and completes when this process has stopped.
 */
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as T from 'fp-ts/Task'
import * as TE from 'fp-ts/TaskEither'
import type { InheritedSuccessor } from '../../core/wire/inherit'
import type { ServeError } from '../errors'
import { type ControlSocket, inheritControl } from '../../shell/control/socket'
import { adoptAll, bindAll, checkInherited, release, takeAll } from '../../shell/listener'
import { matchActivation } from '../../shell/listener/activation'
import { removeOwnPidfile } from '../../shell/os/pidfile'
import { inheritPidlock } from '../../shell/os/pidlock'
import { releaseAll } from '../finish'
import type { Prepared, Stopped } from '../prepare'
import { controlSocket, lockPidfile, settleSignals, stoppedWhileStarting, warnStale, writeOwnPidfile } from '../start'
import { type MakeProtocol, run, type Serving, serving, standaloneParent } from '../lifecycle/run'

/** The first generation takes the pidfile's lock, binds, then writes the pidfile; if that fails, all is undone. */
const startFirst = (p: Prepared, s: Serving): TE.TaskEither<ServeError, Stopped> =>
  pipe(
    TE.Do,
    TE.bindW('pidlock', () => lockPidfile(p)),
    TE.bindW('listeners', ({ pidlock }) =>
      pipe(
        O.isSome(p.activation)
          ? pipe(
              TE.fromEither(matchActivation(p.config.binds, p.activation.value)),
              TE.flatMap((adopted) => adoptAll(s.makeServer, adopted, p.config.socketMode)),
            )
          : bindAll(s.makeServer, p.config.binds, {
              socketMode: p.config.socketMode,
              onStale: warnStale(p),
            }),
        TE.orElseFirstTaskK(() => T.fromIO(() => pidlock.release())),
      ),
    ),
    TE.bindW('control', ({ listeners, pidlock }) => pipe(controlSocket(p), TE.orElseFirstTaskK(() => releaseAll(listeners, release, pidlock)))),
    TE.tap(() => settleSignals),
    TE.tap(({ listeners, pidlock, control }) => pipe(writeOwnPidfile(p), TE.orElseFirstTaskK(() => releaseAll(listeners, release, pidlock, control)))),
    TE.flatMapTask(({ listeners, pidlock, control }) => run(p, s, listeners, pidlock, standaloneParent(O.none, control), control)),
  )

/** A restart keeps the control socket as it keeps the listeners: the config may not add or drop it. */
const checkControl = (p: Prepared, inherited: InheritedSuccessor): E.Either<ServeError, O.Option<ControlSocket>> => {
  const { controlPath } = p.config
  if (O.isSome(controlPath) && O.isSome(inherited.control)) return E.right(O.some(inheritControl(inherited.control.value, controlPath.value)))
  if (O.isNone(controlPath) && O.isNone(inherited.control)) return E.right(O.none)
  return E.left({ _tag: 'ControlChanged', added: O.isSome(controlPath) })
}

/**
 * A successor checks its sockets and writes the pidfile before it listens: once it listens it must not
 * fail, or it would drop what it had accepted. A stop that reached it while it was starting means it must
 * not take over: it exits without listening, and never touches the shared socket files. From the pidfile
 * to the ready line there is no turn of the event loop, so no signal comes in between.
 */
const startSuccessor = (p: Prepared, inherited: InheritedSuccessor, s: Serving): TE.TaskEither<ServeError, Stopped> =>
  pipe(
    TE.fromEither(checkInherited(inherited, p.config.binds)),
    TE.flatMapEither(() => checkControl(p, inherited)),
    TE.tap(() => settleSignals),
    TE.flatMap((control): TE.TaskEither<ServeError, Stopped> => {
      if (stoppedWhileStarting(p)) return TE.right({ code: 0 })
      return pipe(
        writeOwnPidfile(p),
        TE.flatMap(() => takeAll(s.makeServer, inherited, p.config.socketMode)),
        TE.orElseFirstTaskK(() => removeOwnPidfile(p.pidfile)),
        TE.flatMapTask((listeners) => run(p, s, listeners, inheritPidlock(inherited.pidlockFd), standaloneParent(p.inherited, control), control)),
      )
    }),
  )

/** Serves in this process, restarting by handing over to a successor; `successor`: what its parent passed, when a restart started it. */
export const standalone = (p: Prepared, successor: O.Option<InheritedSuccessor>, makeProtocol: MakeProtocol): TE.TaskEither<ServeError, Stopped> => {
  const s = serving(p, makeProtocol)
  return O.isSome(successor) ? startSuccessor(p, successor.value, s) : startFirst(p, s)
}
