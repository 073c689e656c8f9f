/**
 * This process as a restart sees it: how it was started (node, flags, script, arguments) and where,
 * including the folder as the user named it when that goes through a symlink (see core/command.ts).
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import * as O from 'fp-ts/Option'
import type { Self } from '../../core/command'

/** The shell's PWD, when it names `cwd` through a symlink (a stale or foreign PWD is ignored). */
const logicalCwd = (cwd: string): O.Option<string> => {
  const pwd = process.env.PWD
  if (pwd === undefined || !path.isAbsolute(pwd) || pwd === cwd) return O.none
  try {
    return fs.realpathSync(pwd) === cwd ? O.some(path.normalize(pwd)) : O.none
  } catch {
    return O.none
  }
}

// Read as the library loads: once the symlink is switched to a new release, PWD resolves elsewhere.
const startedIn = process.cwd()
const startedAs = logicalCwd(startedIn)

export const currentProcess = (): Self => {
  const cwd = process.cwd()
  return {
    execPath: process.execPath,
    execArgv: process.execArgv,
    argv: process.argv,
    canDisableSigusr1: process.allowedNodeEnvironmentFlags.has('--disable-sigusr1'),
    cwd,
    logicalCwd: cwd === startedIn ? startedAs : O.none, // a process that changed folder since is taken as it is
  }
}
