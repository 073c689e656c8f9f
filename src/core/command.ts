/**
 * Start command: what a restart runs, and in which folder. A configured command line goes through
 * `/bin/sh -c`, as the gem runs its `start_command`; the default re-runs this process's own command
 * line. Both run in the folder the server was started in, named as the user named it: with a release
 * layout (`releases/N` behind a `current` symlink), `cd current && node server.js` leaves the shell's
 * `PWD` at `.../current` while the process's working directory is the resolved `releases/N`; the new
 * process must start in `current`, so that it runs the release `current` points to now. Pure: the
 * process facts are passed in.
 */
import * as O from 'fp-ts/Option'

export interface Command {
  readonly file: string
  readonly args: readonly string[]
  /** The folder to start it in. */
  readonly cwd: string
}

export interface Self {
  readonly execPath: string
  readonly execArgv: readonly string[]
  readonly argv: readonly string[]
  /** The working directory, resolved (what `process.cwd()` says). */
  readonly cwd: string
  /** The same folder as the user named it (the shell's `PWD`), when that differs: it goes through a symlink. */
  readonly logicalCwd: O.Option<string>
}

/** `file` under the resolved working directory, named through the logical one instead. */
const throughLogical = (file: string, self: Self): string =>
  O.isSome(self.logicalCwd) && file.startsWith(`${self.cwd}/`) ? `${self.logicalCwd.value}${file.slice(self.cwd.length)}` : file

export const startCommand = (configured: O.Option<string>, self: Self): Command => {
  const cwd = O.getOrElse(() => self.cwd)(self.logicalCwd)
  if (O.isSome(configured)) return { file: '/bin/sh', args: ['-c', configured.value], cwd }
  const [, script, ...rest] = self.argv
  return { file: self.execPath, args: [...self.execArgv, ...(script !== undefined ? [throughLogical(script, self), ...rest] : [])], cwd }
}

export const formatCommand = (c: Pick<Command, 'file' | 'args'>): string =>
  [c.file, ...c.args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')

/** The command `uninterruptible run` was given after `--` (no shell), run in the folder the server was started in. */
export const appCommand = (argv: readonly [string, ...string[]], self: Pick<Self, 'cwd' | 'logicalCwd'>): Command => {
  const [file, ...args] = argv
  return { file, args, cwd: O.getOrElse(() => self.cwd)(self.logicalCwd) }
}
