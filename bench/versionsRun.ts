/**
 * Runs bench/versions.ts under another Node version, fetched (once, into a cache outside the checkout)
 * by .ci/node.sh; `undefined`, with the reason logged, when that Node cannot be had.
 */
import { execFile, spawnSync } from 'node:child_process'
import * as path from 'node:path'
import { DIST, ROOT } from '../test/support/harness'
import type { VersionRun } from './versions'

export interface VersionSettings {
  readonly samples: number
  readonly rounds: number
  readonly seconds: number
  readonly concurrency: number
}

export type Part = 'handoff' | 'overhead' | 'compileCache'

export const otherNode = (major: string, s: VersionSettings, parts: readonly Part[], log: (line: string) => void): Promise<VersionRun | undefined> => {
  const fetched = spawnSync('bash', [path.join(ROOT, '.ci/node.sh'), major], { encoding: 'utf8' })
  if (fetched.status !== 0) {
    log(`Node ${major} could not be fetched, its rows are left out: ${fetched.stderr.trim()}`)
    return Promise.resolve(undefined)
  }
  const node = path.join(fetched.stdout.trim(), 'node')
  const args = [path.join(DIST, 'bench/versions.js'), String(s.samples), String(s.rounds), String(s.seconds), String(s.concurrency), parts.join(',')]
  return new Promise((resolve, reject) => {
    execFile(node, args, { cwd: ROOT, maxBuffer: 64 * 1024 * 1024 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`Node ${major}: ${err.message}\n${stderr}`))
      else resolve(JSON.parse(stdout) as VersionRun)
    })
  })
}
