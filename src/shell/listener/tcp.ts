/** TCP listeners: bind and listen on a host and port. */
import type * as net from 'node:net'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import * as TE from 'fp-ts/TaskEither'
import type { Tcp } from '../../core/bind'
import { formatAddress, fromErrno, type Listener, type ListenError, listenOn, withFd } from './common'

export const bindTcp = (server: net.Server, bind: Tcp): TE.TaskEither<ListenError, Listener> =>
  pipe(
    listenOn(server, { host: bind.host, port: bind.port }),
    TE.mapLeft(fromErrno(bind)),
    TE.flatMapEither(() => withFd(server, bind)),
    TE.map((fd) => ({ server, fd, bind, address: formatAddress(server, bind), inherited: false, socketId: O.none })),
  )
