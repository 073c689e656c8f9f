/**
 * Pidfile: written atomically (a temporary file beside it, then rename) without following symlinks,
 * so readers never see a partial pid and a planted link is replaced, not written through. Removed only
 * while it still holds our own pid.
 */
import * as fs from 'node:fs'
import { pipe } from 'fp-ts/function'
import * as TE from 'fp-ts/TaskEither'
import { type Errno, fileProblem, toErrno } from './errno'

export interface PidfileError {
  readonly _tag: 'PidfileUnwritable'
  readonly path: string
  readonly reason: string
}

export const describePidfileError = (e: PidfileError): string => `cannot write the pidfile ${e.path}: ${e.reason}`

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = fs.constants

const writeTemp = async (temp: string, content: string): Promise<void> => {
  // O_EXCL|O_NOFOLLOW: never write through a link planted at the temporary name
  const handle = await fs.promises.open(temp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o644)
  try {
    await handle.writeFile(content)
  } finally {
    await handle.close()
  }
}

const writeAtomically = async (file: string, pid: number): Promise<void> => {
  const temp = `${file}.${pid}.tmp`
  await fs.promises.rm(temp, { force: true }) // a leftover of an earlier process with our pid
  try {
    await writeTemp(temp, `${pid}\n`)
    await fs.promises.rename(temp, file) // replaces a symlink at `file` rather than following it
  } catch (err) {
    await fs.promises.rm(temp, { force: true }).catch(() => undefined)
    throw err
  }
}

export const writePidfile = (file: string, pid: number): TE.TaskEither<PidfileError, void> =>
  pipe(
    TE.tryCatch(() => writeAtomically(file, pid), toErrno),
    TE.mapLeft((err) => ({ _tag: 'PidfileUnwritable', path: file, reason: fileProblem(file, err, 'pidfilePath') })),
  )

/** The pid in the file; `undefined` when it is missing or does not hold a pid. Never follows a link. */
export const readPidfile = async (file: string): Promise<number | undefined> => {
  let handle: fs.promises.FileHandle | undefined
  try {
    handle = await fs.promises.open(file, fs.constants.O_RDONLY | O_NOFOLLOW)
    const text = (await handle.readFile('utf8')).trim()
    return /^\d+$/.test(text) ? Number(text) : undefined
  } catch {
    return undefined
  } finally {
    await handle?.close()
  }
}

/** Removes the pidfile if it names `pid`; says what it did. */
export const removePidfileIfOwn = (file: string, pid: number): TE.TaskEither<Errno, 'removed' | 'not-ours'> =>
  TE.tryCatch(async () => {
    if ((await readPidfile(file)) !== pid) return 'not-ours' as const
    await fs.promises.rm(file, { force: true })
    return 'removed' as const
  }, toErrno)
