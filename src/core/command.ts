/**
 * Start command: what a restart runs. A configured command line goes through `/bin/sh -c`, as the gem
 * runs its `start_command`; the default re-runs this process's own command line. Pure: the process
 * facts are passed in.
 */
import * as O from 'fp-ts/Option'

export interface Command {
  readonly file: string
  readonly args: readonly string[]
}

export interface Self {
  readonly execPath: string
  readonly execArgv: readonly string[]
  readonly argv: readonly string[]
  /** Whether this Node accepts --disable-sigusr1 (Node 22.14+, 23.7+). */
  readonly canDisableSigusr1: boolean
}

export const DISABLE_SIGUSR1 = '--disable-sigusr1'

export const startCommand = (configured: O.Option<string>, self: Self): Command => {
  if (O.isSome(configured)) return { file: '/bin/sh', args: ['-c', configured.value] }
  const flags =
    self.canDisableSigusr1 && !self.execArgv.includes(DISABLE_SIGUSR1) ? [DISABLE_SIGUSR1, ...self.execArgv] : self.execArgv
  return { file: self.execPath, args: [...flags, ...self.argv.slice(1)] }
}

export const formatCommand = (c: Command): string =>
  [c.file, ...c.args].map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`)).join(' ')
