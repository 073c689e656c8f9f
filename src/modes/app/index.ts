/**
 * App mode: a worker of `uninterruptible run`, inside an unchanged application (docs/ARCHITECTURE.md,
 * "Unchanged apps"). It is a worker like any other (the same lifecycle, channel, drain and exit); the
 * difference is where its listeners' connections go and when it is ready:
 * - each `listen()` of the application on a configured address is claimed (shell/app/claims.ts): the
 *   worker listens on the inherited socket for that address with a listener of its own, and hands each
 *   connection to the application's server, which answers for that listener (shell/app/appServer.ts);
 * - it is ready once the application has listened on every configured address (a restart waits for
 *   that, then the probation); until then it tells its supervisor what it waits for;
 * - the drain is `serveHttp`'s for an HTTP server, the application's own close for others
 *   (shell/app/appProtocol.ts); the application's stop-signal handlers run once it is over.
 */
import net = require('node:net')
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as RA from 'fp-ts/ReadonlyArray'
import * as TE from 'fp-ts/TaskEither'
import { formatBind } from '../../core/bind'
import type { InheritedWorker } from '../../core/wire/inherit'
import { adopt, type Adopted } from '../../shell/app/appServer'
import { appProtocol } from '../../shell/app/appProtocol'
import type { Claim, Claims } from '../../shell/app/claims'
import { type Listener, type ListenError, type Listeners, takeInherited } from '../../shell/listener'
import { reportWaiting } from '../../shell/os/channel'
import { acceptedBy, nameListener } from '../../shell/protocol/listenerOf'
import type { Protocol } from '../../shell/protocol/protocol'
import type { ServeError } from '../errors'
import { serving } from '../lifecycle/run'
import type { Prepared, Stopped } from '../prepare'
import { asWorker, startWorker } from '../worker'

interface Served {
  readonly protocol: Protocol
  readonly adopted: Adopted
}

/**
 * The protocol of all the worker's listeners: each connection goes to the protocol of the application's
 * server its listener serves; a drain, to each with its own connections.
 */
const router = (): { readonly protocol: Protocol; readonly add: (listener: net.Server, served: Served) => void } => {
  const by = new Map<net.Server, Served>()
  return {
    add: (listener, served) => {
      by.set(listener, served)
    },
    protocol: {
      serverOptions: {},
      accept: (socket, id) => {
        const listener = acceptedBy(socket)
        const served = listener === undefined ? undefined : by.get(listener)
        if (served === undefined) socket.destroy()
        else served.protocol.accept(socket, id)
      },
      started: () => undefined,
      drain: (open) => {
        for (const [listener, served] of by) served.protocol.drain(open.filter((s) => acceptedBy(s) === listener))
      },
      stopped: () => {
        for (const served of by.values()) served.adopted.closed()
      },
    },
  }
}

/** What the worker waits for, in words, for its supervisor (the reason a timeout gives). */
const waitingFor = (p: Prepared, listening: ReadonlySet<number>, claims: Claims): string => {
  const missing = p.config.binds.filter((_, i) => !listening.has(i)).map(formatBind)
  const elsewhere = claims.unmatched()
  return `the app has not listened on ${missing.join(', ')}${elsewhere.length > 0 ? `; it called ${elsewhere.join('; ')}` : ''} (a run worker is ready once its app has listened on every configured address)`
}

/** Serves an unchanged application's listen() calls for the supervisor that started this process. */
export const appWorker = (p: Prepared, inherited: InheritedWorker, claims: Claims): TE.TaskEither<ServeError, Stopped> => {
  const own = asWorker(p)
  const routes = router()
  const s = serving(own, () => routes.protocol)

  /** Listens on the inherited socket of each claimed address; resolves once every one listens. */
  const listenAll: TE.TaskEither<ListenError, Listeners> = () =>
    new Promise((resolve) => {
      const taken = new Map<number, Listener>()
      const tell = (): void => reportWaiting(inherited.channelFd, waitingFor(p, new Set(taken.keys()), claims))
      tell()
      claims.attach((c: Claim) => {
        const l = inherited.listeners[c.index]
        if (l === undefined) return
        const served = appProtocol(c.app, p.config.idleGraceMs, p.log)
        // TLS from the config terminates before the application's server, as serveHttp's does
        const listener = net.createServer(O.isSome(p.tls) ? s.protocol.serverOptions : served.serverOptions, s.connections.onConnection)
        const bind = p.config.binds[c.index]
        const adopted = adopt(c.app, listener, c.call.callback, () => listener.close(), bind?._tag === 'Unix' ? bind.path : undefined)
        routes.add(listener, { protocol: served, adopted })
        void takeInherited(listener, l, p.config.socketMode)().then((r) => {
          if (r._tag === 'Left') {
            resolve(r)
            return
          }
          nameListener(listener, r.right.address)
          taken.set(c.index, r.right)
          adopted.listened()
          const all = pipe(
            p.config.binds.map((_, i) => taken.get(i)),
            RA.filterMap(O.fromNullable),
          )
          if (RA.isNonEmpty(all) && all.length === p.config.binds.length) resolve({ _tag: 'Right', right: all })
          else tell()
        })
      })
    })

  return startWorker(
    own,
    s,
    inherited,
    pipe(
      listenAll,
      TE.tap(() =>
        TE.fromIO(() => {
          for (const u of claims.unmatched()) p.log.warn({ event: 'listen-unmatched', call: u }, `the app listens where no configured address is, as Node would: ${u}; that socket is not handed over at a restart`)
        }),
      ),
    ),
  )
}
