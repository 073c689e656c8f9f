/**
 * Durations use a monotonic clock: a server whose wall clock is stepped back an hour (by a preloaded
 * fixture, for that process only) still reports an uptime that is positive and grows, standalone and as
 * a supervisor.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { DIST, ECHO, HANG_MS, runCli, ServerProcess, withDir, writeJson } from '../support/harness'

const STEP_BACK = path.join(DIST, 'test/fixtures/wallClockBack.js')

const uptimeOf = async (config: string): Promise<number> => {
  const r = await runCli(['status', config, '--json'])
  assert.equal(r.code, 0, r.stderr)
  return (JSON.parse(r.stdout) as { readonly uptimeMs: number }).uptimeMs
}

describe('a wall clock stepped back', { timeout: 120_000 }, () => {
  for (const workers of [undefined, 2] as const) {
    it(`${workers === undefined ? 'standalone' : 'a supervisor'}: status reports an uptime that stays positive and grows`, () =>
      withDir(async (dir) => {
        const config = writeJson(path.join(dir, 'echo.json'), {
          bind: 'tcp://127.0.0.1:0',
          controlPath: path.join(dir, 'control.sock'),
          ...(workers !== undefined ? { workers } : {}),
        })
        const server = new ServerProcess(['--require', STEP_BACK, ECHO, config])
        try {
          await server.waitFor((l) => l.event === 'listening' && (workers === undefined || l.supervisor === true), 'listening')
          const before = await uptimeOf(config)
          assert.ok(before >= 0, `uptime ${before} ms`)
          process.kill(server.pid, 'SIGWINCH')
          await server.waitForText((l) => l === 'wall clock stepped back an hour', 'the clock step')
          const after = await uptimeOf(config)
          assert.ok(after >= before, `uptime ${after} ms after the step, ${before} ms before it`)
          let later = after
          for (const deadline = performance.now() + HANG_MS; later <= after && performance.now() < deadline; ) later = await uptimeOf(config)
          assert.ok(later > after, `uptime grows: ${after} ms, then ${later} ms`)
          assert.equal((await runCli(['stop', config])).code, 0)
          await server.closed
          assert.deepStrictEqual(fs.readdirSync(dir), ['echo.json'])
        } finally {
          server.killAll()
        }
      }))
  }
})
