/**
 * Pidfile: written atomically (a temporary file beside it, then rename) without following symlinks,
 * so readers never see a partial pid and a planted link is replaced, not written through. Removed only
 * while it still holds our own pid. Synchronous: a few microseconds for a file this small, and a
 * successor writes it on the handoff's critical path, where thread-pool round trips would cost more.
 */
import fs = require('node:fs')
import { pipe } from 'fp-ts/function'
import * as IOE from 'fp-ts/IOEither'
import * as O from 'fp-ts/Option'
import * as TE from 'fp-ts/TaskEither'
import { type Errno, fileProblem, toErrno } from './errno'

/**
 * The pidfile cannot be written (its folder is missing, or this user may not write there).
 *
 * @remarks
 * Fix `pidfilePath` (or `PID_FILE`), or the folder's permissions, and start again.
 */
export interface PidfileError {
  /** Tags this error in {@link ServeError}. */
  readonly _tag: 'PidfileUnwritable'
  /** The pidfile's path. */
  readonly path: string
  /** Why it cannot be written. */
  readonly reason: string
}

export const describePidfileError = (e: PidfileError): string => `cannot write the pidfile ${e.path}: ${e.reason}`

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants

const writeTemp = (temp: string, content: string): void => {
  // O_EXCL|O_NOFOLLOW: never write through a link planted at the temporary name
  const fd = fs.openSync(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644)
  try {
    fs.writeSync(fd, content)
  } finally {
    fs.closeSync(fd)
  }
}

/** Removes a file if it is there. unlink, not fs.rmSync, which loads Node's recursive remover (0.4 ms on a successor's start). */
const unlinkIfPresent = (file: string): void => {
  try {
    fs.unlinkSync(file)
  } catch (err) {
    if (toErrno(err).code !== 'ENOENT') throw err
  }
}

const writeAtomically = (file: string, pid: number): void => {
  const temp = `${file}.${pid}.tmp`
  unlinkIfPresent(temp) // a leftover of an earlier process with our pid
  try {
    writeTemp(temp, `${pid}\n`)
    fs.renameSync(temp, file) // replaces a symlink at `file` rather than following it
  } catch (err) {
    fs.rmSync(temp, { force: true })
    throw err
  }
}

export const writePidfile = (file: string, pid: number): TE.TaskEither<PidfileError, void> =>
  pipe(
    IOE.tryCatch(() => writeAtomically(file, pid), toErrno),
    IOE.mapLeft((err): PidfileError => ({ _tag: 'PidfileUnwritable', path: file, reason: fileProblem(file, err, 'pidfilePath') })),
    TE.fromIOEither,
  )

/** The pid in the file; `undefined` when it is missing or does not hold a pid. Never follows a link. */
export const readPidfile = (file: string): number | undefined => {
  let fd: number | undefined
  try {
    fd = fs.openSync(file, fs.constants.O_RDONLY | O_NOFOLLOW)
    const text = fs.readFileSync(fd, 'utf8').trim()
    return /^\d+$/.test(text) ? Number(text) : undefined
  } catch {
    return undefined
  } finally {
    if (fd !== undefined) fs.closeSync(fd)
  }
}

/** This process's pidfile, if it has one and it still holds this process's pid, goes. */
export const removeOwnPidfile = (file: O.Option<string>): TE.TaskEither<Errno, 'removed' | 'not-ours' | 'none'> =>
  O.isSome(file) ? removePidfileIfOwn(file.value, process.pid) : TE.right('none')

/** Removes the pidfile if it names `pid`; says what it did. */
export const removePidfileIfOwn = (file: string, pid: number): TE.TaskEither<Errno, 'removed' | 'not-ours'> =>
  TE.fromIOEither(
    IOE.tryCatch(() => {
      if (readPidfile(file) !== pid) return 'not-ours' as const
      unlinkIfPresent(file)
      return 'removed' as const
    }, toErrno),
  )
