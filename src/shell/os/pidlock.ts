/**
 * Pidfile lock: a pidfile is held by one running server at a time. A pidfile alone cannot say so (a pid
 * left by a crash may since belong to anything), so the server that writes it also binds a socket in
 * Linux's abstract namespace named after the pidfile's path: binding is exclusive, it leaves no file,
 * and the kernel releases it when the last process holding it is gone. Each generation passes it on to
 * the next with the listeners, so it is held as long as any generation lives. A second server given the
 * same pidfile finds it taken and is refused. Elsewhere than Linux there is no lock.
 */
import fs = require('node:fs')
import path = require('node:path')
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import { adoptFd, type BoundHandle, bindPipe } from './handles'
import { loadCrypto } from './lazy'

export interface Pidlock {
  /** The fd to pass on to the next generation; `none` where there is no lock. */
  readonly fd: O.Option<number>
  readonly release: () => void
}

/**
 * Another running server holds this pidfile (Linux: each server holds a lock named after its pidfile
 * for as long as any of its generations lives).
 *
 * @remarks
 * Stop that server first, or give this one another `pidfilePath`.
 */
export interface PidfileHeld {
  /** Tags this error in {@link ServeError}. */
  readonly _tag: 'PidfileHeld'
  /** The pidfile's path. */
  readonly path: string
  /** The pid the file names, if it names one. */
  readonly pid: number | undefined
}

export const describePidfileHeld = (e: PidfileHeld): string =>
  e.pid !== undefined
    ? `the pidfile ${e.path} names process ${e.pid}, a running server that holds this pidfile; stop it first, or give this server another pidfilePath`
    : `another running server holds the pidfile ${e.path}; stop it first, or give this server another pidfilePath`

/** The same name for every spelling of the path (its folder resolved), short enough for the namespace. */
const lockName = (pidfile: string): string => {
  const absolute = path.resolve(pidfile)
  let folder = path.dirname(absolute)
  try {
    folder = fs.realpathSync(folder)
  } catch {
    // a missing folder: the pidfile write will say so
  }
  return `\0uninterruptible-pidfile:${loadCrypto().createHash('sha256').update(path.join(folder, path.basename(absolute))).digest('hex').slice(0, 40)}`
}

const fromHandle = (h: BoundHandle): Pidlock => ({ fd: O.some(h.fd), release: () => h.close() })
const NONE: Pidlock = { fd: O.none, release: () => undefined }

/** Takes the lock for `pidfile`; `readPid` says whom to name when it is held. */
export const takePidlock = (pidfile: string, readPid: (file: string) => number | undefined): E.Either<PidfileHeld, Pidlock> => {
  if (process.platform !== 'linux') return E.right(NONE)
  const bound = bindPipe(lockName(pidfile))
  if (E.isRight(bound)) return E.right(fromHandle(bound.right))
  return bound.left.code === 'EADDRINUSE' ? E.left({ _tag: 'PidfileHeld', path: pidfile, pid: readPid(pidfile) }) : E.right(NONE)
}

/** The lock a parent passed down: held from now on, by this process too. */
export const inheritPidlock = (fd: O.Option<number>): Pidlock => {
  if (O.isNone(fd)) return NONE
  const adopted = adoptFd(fd.value)
  return E.isRight(adopted) ? fromHandle(adopted.right) : { fd, release: () => fs.closeSync(fd.value) }
}
