/**
 * How every mode ends: the last steps of its exit (its own pidfile removed, never a successor's; the
 * pidfile lock released; the exit logged; the caller told the code), and what a start that failed
 * part-way gives back.
 */
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import type * as T from 'fp-ts/Task'
import * as TE from 'fp-ts/TaskEither'
import type { ControlSocket } from '../shell/control/socket'
import { type Listener, removeOwnSocketFile } from '../shell/listener'
import type { Log } from '../shell/log/logger'
import { removeOwnPidfile } from '../shell/os/pidfile'
import type { Pidlock } from '../shell/os/pidlock'

export interface Finishing {
  readonly log: Log
  readonly pidfile: O.Option<string>
  readonly pidlock: Pidlock
  readonly exits: boolean
  readonly onExit: (code: number) => void
}

export const finish = async (f: Finishing, code: number): Promise<void> => {
  const removed = await removeOwnPidfile(f.pidfile)()
  if (E.isLeft(removed)) f.log.error({ event: 'pidfile', error: removed.left.message }, `could not remove the pidfile: ${removed.left.message}`)
  else f.log.debug({ event: 'pidfile', outcome: removed.right }, `pidfile ${removed.right}`)
  f.pidlock.release()
  if (f.exits) f.log.info({ event: 'exit', code }, `exiting with code ${code}`)
  else f.log.info({ event: 'stopped', code }, `stopped; serveTask completes with code ${code}`)
  f.onExit(code)
}

/**
 * At a final stop: removes each UNIX socket file that is still the one this server created, logging what
 * happened to it; whatever happens, the stop goes on.
 */
export const removeSocketFiles = (sockets: readonly Pick<Listener, 'bind' | 'socketId' | 'address'>[], log: Log): TE.TaskEither<never, void> =>
  TE.fromTask(async () => {
    for (const s of sockets) {
      await pipe(
        removeOwnSocketFile(s),
        TE.match(
          (err) => log.error({ event: 'socket-file', outcome: 'failed', path: s.address, error: err.message }, `could not remove the socket file: ${err.message}`),
          (outcome) => {
            if (outcome !== 'none') log.info({ event: 'socket-file', outcome, path: s.address }, `socket file ${outcome === 'removed' ? 'removed' : `left alone (${outcome})`}`)
          },
        ),
      )()
    }
  })

/** Undoes what a start-up that then failed had taken: each socket (`release`, files only if ours), the control socket, the lock. */
export const releaseAll =
  <S>(sockets: readonly S[], release: (s: S) => T.Task<unknown>, pidlock: Pidlock, control: O.Option<ControlSocket> = O.none): T.Task<void> =>
  async () => {
    for (const s of sockets) await release(s)()
    if (O.isSome(control)) {
      await control.value.removeFile()()
      control.value.server.close()
    }
    pidlock.release()
  }
