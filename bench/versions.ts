/**
 * The measures that depend on the Node version, run by `npm run bench` under another Node (fetched by
 * .ci/node.sh): `node dist/bench/versions.js SAMPLES ROUNDS SECONDS CONCURRENCY PARTS` prints one JSON
 * object on stdout with the PARTS asked for (a comma-separated list): `handoff` (against its floor),
 * `overhead` (against a raw `net` server), `compileCache` (its effect on a real app's successor
 * start-up, where Node has one).
 */
import nodeModule from 'node:module'
import { type CompileCacheRun, compileCache } from './compileCache'
import { type Handoff, handoff } from './handoff'
import { type Overhead, overhead } from './overhead'

export interface VersionRun {
  readonly node: string
  readonly handoff: Handoff | null
  readonly overhead: Overhead | null
  readonly compileCache: CompileCacheRun | null
}

const main = async (): Promise<void> => {
  const [samples, rounds, seconds, concurrency] = process.argv.slice(2, 6).map(Number)
  const parts = (process.argv[6] ?? '').split(',')
  if (samples === undefined || rounds === undefined || seconds === undefined || concurrency === undefined) throw new Error('usage: versions.js SAMPLES ROUNDS SECONDS CONCURRENCY PARTS')
  const hasCache = typeof (nodeModule as { enableCompileCache?: unknown }).enableCompileCache === 'function'
  const run: VersionRun = {
    node: process.version,
    overhead: parts.includes('overhead') ? await overhead({ rounds, seconds, concurrency }) : null,
    handoff: parts.includes('handoff') ? await handoff(samples) : null,
    compileCache: parts.includes('compileCache') && hasCache ? await compileCache(samples) : null,
  }
  process.stdout.write(`${JSON.stringify(run)}\n`)
}

if (require.main === module) {
  main().then(
    () => process.exit(),
    (err: unknown) => {
      process.stderr.write(`[bench versions] failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
      process.exit(1)
    },
  )
}
