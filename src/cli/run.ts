/**
 * `uninterruptible run [flags] -- node app.js`: this process becomes the supervisor of an unchanged
 * application (docs/ARCHITECTURE.md, "Unchanged apps"). It never loads the application: its workers run
 * the command after `--`, with the app adapter (src/app.ts) preloaded. Loaded by the command only for
 * `run` (it is the whole library; the other commands need none of it).
 */
import fs = require('node:fs')
import path = require('node:path')
import * as E from 'fp-ts/Either'
import * as TE from 'fp-ts/TaskEither'
import { appCommand } from '../core/command'
import { decodeConfig, describeConfigError } from '../core/config'
import { nameFlags, parseRunArgs, RUN_ENV, RUN_USAGE, runConfigJson, writeRunEnv } from '../core/runConfig'
import { supervisor, workerCount } from '../modes/supervisor'
import { serveIn } from '../modes/serve'
import { describeConfigSourceError, readJsonFile } from '../shell/configSource'
import { runMain } from '../program'

const err = (s: string): void => {
  fs.writeSync(2, `${s}\n`)
}

export { RUN_USAGE }

/** Runs the supervisor (it exits the process when it is done); a command line or config that will not do: its exit code. */
export const main = (argv: readonly string[]): number => {
  const args = parseRunArgs(argv)
  if (E.isLeft(args)) {
    err(`uninterruptible run: ${args.left}\n${RUN_USAGE}`)
    return 2
  }
  const { configFile, flags, command } = args.right
  const file = configFile === undefined ? undefined : path.resolve(configFile)
  const fileJson = file === undefined ? E.right({}) : readJsonFile(file)
  if (E.isLeft(fileJson)) {
    err(`uninterruptible run: ${describeConfigSourceError(fileJson.left)}`)
    return 1
  }
  const record = fileJson.right
  const merged = runConfigJson(record, flags)
  const decoded = decodeConfig(merged, process.env)
  if (E.isLeft(decoded)) {
    err(`uninterruptible run: ${describeConfigError({ ...decoded.left, problems: nameFlags(decoded.left.problems, flags) })}`)
    return 1
  }
  const config = decoded.right
  if (config.startCommand._tag === 'Some') {
    err('uninterruptible run: startCommand is not used by run: the command after -- is what each worker runs')
    return 1
  }
  const size = workerCount(config.workers._tag === 'Some' ? config.workers.value : 1)
  const program = { command: (self: Parameters<typeof appCommand>[1]) => appCommand(command, self), preload: 'app' as const, env: { [RUN_ENV]: writeRunEnv({ configFile: file ?? null, flags }) } }
  void runMain(serveIn(TE.right(merged), {}, true, (p) => supervisor(p, size, program)))
  return -1
}
