/**
 * The listening socket's file descriptor. Node exposes it only through the server's internal handle;
 * this is the one place that reaches into it.
 */
import type { Server } from 'node:net'
import * as E from 'fp-ts/Either'

export interface NoFd {
  readonly _tag: 'NoFd'
}

interface WithHandle {
  readonly _handle?: { readonly fd?: unknown } | null
}

export const listenFd = (server: Server): E.Either<NoFd, number> => {
  const fd = (server as unknown as WithHandle)._handle?.fd
  return typeof fd === 'number' && Number.isInteger(fd) && fd >= 0 ? E.right(fd) : E.left({ _tag: 'NoFd' })
}
