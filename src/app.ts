/**
 * The app adapter: what a worker of `uninterruptible run` runs first, through `--require` in its
 * NODE_OPTIONS (in place of src/preload.ts, whose work it does first), before the unchanged application
 * loads. It reads the config its supervisor named (`UNINTERRUPTIBLE_RUN`: the config file and the
 * flags), claims the application's listen() calls on configured addresses, holds its SIGTERM/SIGINT
 * handlers until the drain is over, and serves as a worker (modes/app). docs/ARCHITECTURE.md,
 * "Unchanged apps".
 */
import './preload'
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import * as TE from 'fp-ts/TaskEither'
import { decodeConfig } from './core/config'
import { RUN_ENV, readRunEnv, runConfigJson } from './core/runConfig'
import { appWorker } from './modes/app'
import { serveIn } from './modes/serve'
import { holdStopHandlers } from './shell/app/appSignals'
import { claimListens } from './shell/app/claims'
import { readJsonFile } from './shell/configSource'
import { isOwnListener } from './shell/os/signals'
import { runMain } from './program'

const start = (raw: string): void => {
  // eslint-disable-next-line @typescript-eslint/no-dynamic-delete -- meant for this process only
  delete process.env[RUN_ENV]
  const run = readRunEnv(raw)
  if (E.isLeft(run)) {
    process.stderr.write(`uninterruptible: ${RUN_ENV} is malformed: ${run.left}\n`)
    process.exit(1)
  }
  // the config file as it is now (a restart re-reads it), with the command line's flags over it
  const file = run.right.configFile === null ? E.right({}) : readJsonFile(run.right.configFile)
  const input = E.map((json: unknown) => runConfigJson(json, run.right.flags))(file)
  const binds = E.flatMap((json: unknown) => E.map((c: { readonly binds: Parameters<typeof claimListens>[0] }) => c.binds)(decodeConfig(json, process.env)))(input)
  // a config that does not decode fails the worker in serve, with the reason to its supervisor
  const claims = claimListens(E.isRight(binds) ? binds.right : [{ _tag: 'Tcp', host: '0.0.0.0', port: 0 }])
  const held = holdStopHandlers(isOwnListener)
  void runMain(
    serveIn(
      TE.fromEither(input),
      {
        // the application's own shutdown runs once the drain is over; it may exit itself
        onExit: () =>
          new Promise<void>((resolve) => {
            held.run()
            setImmediate(resolve)
          }),
      },
      true,
      (p) => (O.isSome(p.inherited) && p.inherited.value.role === 'worker' ? appWorker(p, p.inherited.value, claims) : TE.left({ _tag: 'NotARunWorker' })),
    ),
  )
}

const raw = process.env[RUN_ENV]
if (raw !== undefined) start(raw)
