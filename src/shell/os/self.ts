/**
 * This process as a restart sees it: how it was started (node, flags, script, arguments) and where,
 * including the folder as the user named it when that goes through a symlink (see core/command.ts).
 */
import fs = require('node:fs')
import path = require('node:path')
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
    cwd,
    logicalCwd: cwd === startedIn ? startedAs : O.none, // a process that changed folder since: its physical folder is used
  }
}

/** Inits that exit when their one child does: a handoff ends the container through them. */
const SHORT_LIVED_INITS = ['tini', 'docker-init', 'dumb-init', 'catatonit']

/**
 * Why a handoff here would end the service, if it would: this process is the init of its pid namespace
 * (a container run without an init), whose exit makes the kernel kill everything in it, the new
 * process too; or its parent is an init that exits with its child (tini, dumb-init).
 */
export const handoffEndsService = (): O.Option<string> => {
  if (process.pid === 1) {
    return O.some("this process is PID 1 of its pid namespace (a container's init): when it exits after a handoff, the kernel ends the namespace, the new process with it")
  }
  if (process.ppid !== 1) return O.none
  let init = ''
  try {
    init = fs.readFileSync('/proc/1/comm', 'utf8').trim()
  } catch {
    return O.none
  }
  return SHORT_LIVED_INITS.includes(init)
    ? O.some(`this process's parent is ${init}, the container's init, which exits when this process does: a handoff would end the container, the new process with it`)
    : O.none
}
