/**
 * Node's module compile cache for the processes a server starts (docs/ARCHITECTURE.md, "Compile
 * cache"): a new process then loads the application's modules from code compiled by an earlier one,
 * which shortens the handoff. Node keys each entry by the source's content, so code changed by a deploy
 * is compiled afresh, never served stale. The folder must be writable by this user only: whoever can
 * write it can change what runs. The same folder holds the library's own code cache (src/load.ts), on
 * every version; Node's module cache exists from 22.1 on.
 */
import fs = require('node:fs')
import path = require('node:path')
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import type { CompileCache } from '../../core/config'
import { libraryCodeOn } from '../../core/early'
import { messageOf, toErrno } from './errno'
import { loadOs } from './lazy'

// eslint-disable-next-line @typescript-eslint/no-require-imports -- the CommonJS loader, loaded already (typed in require.d.ts)
const nodeModule = () => require('node:module')

export const defaultCacheDir = (): string => path.join(loadOs().tmpdir(), `uninterruptible-compile-cache-${process.getuid?.() ?? 'user'}`)

/** Creates the folder (mode 0700) if missing and checks that nobody else may write it. */
const checkedDir = (dir: string): E.Either<string, string> => {
  try {
    fs.mkdirSync(dir, { mode: 0o700 })
  } catch (err) {
    if (toErrno(err).code !== 'EEXIST') return E.left(`cannot create ${dir}: ${messageOf(err)}`)
  }
  const st = fs.lstatSync(dir, { throwIfNoEntry: false })
  if (!st?.isDirectory()) return E.left(`${dir} is not a folder (a symbolic link is not accepted)`)
  const uid = process.getuid?.()
  if (uid !== undefined && st.uid !== uid) return E.left(`${dir} belongs to user ${st.uid}, not to this user (${uid})`)
  if ((st.mode & 0o022) !== 0) return E.left(`${dir} may be written by others (mode ${(st.mode & 0o777).toString(8)}); make it 0700`)
  return E.right(dir)
}

/**
 * The folder to give the processes this server starts, if any: none when the config turns it off, or
 * when NODE_COMPILE_CACHE / NODE_DISABLE_COMPILE_CACHE already say what Node should do. On every
 * version: the library's own code cache (src/load.ts) needs no compile cache from Node.
 * Left: a folder that cannot be used, and why.
 */
export const compileCacheFor = (setting: CompileCache, env: NodeJS.ProcessEnv = process.env): E.Either<string, O.Option<string>> => {
  if (setting._tag === 'Off') return E.right(O.none)
  if (env.NODE_COMPILE_CACHE !== undefined || env.NODE_DISABLE_COMPILE_CACHE !== undefined) return E.right(O.none)
  return E.map((dir: string) => O.some(dir))(checkedDir(setting._tag === 'At' ? setting.path : defaultCacheDir()))
}

/**
 * Writes what this process compiled so far, so the next process started finds it: the application's
 * modules (Node 22.10 and later; otherwise at exit) and the library's own code (src/load.ts).
 */
export const flushCompileCache = (): void => {
  libraryCodeOn(globalThis)?.save()
  try {
    nodeModule().flushCompileCache?.()
  } catch {
    // the next process compiles for itself
  }
}

/** The compile cache's folder for each process started; a folder that cannot be used is said once, and not used. */
export const compileCacheForChildren = (setting: CompileCache, warn: (reason: string) => void): (() => O.Option<string>) => {
  let warned = false
  return () => {
    const dir = compileCacheFor(setting)
    if (E.isRight(dir)) return dir.right
    if (!warned) warn(dir.left)
    warned = true
    return O.none
  }
}
