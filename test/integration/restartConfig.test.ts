/**
 * A restart whose new config is wrong (not JSON, an unknown key, the file gone, `workers` added to a
 * standalone server): the new process says why on its channel, so the reason is in the restart's answer
 * and in the old generation's `successor-failed` / `generation-failed` line, not only on the new
 * process's stderr. The old generation serves on, and a fixed config restarts as usual.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { exchange, uniqueLine } from '../support/echoLoad'
import { type LogLine, portOf, runCli, ServerProcess, withDir, writeJson } from '../support/harness'

interface Case {
  readonly name: string
  /** Breaks the config file; returns what the reason must say. */
  readonly breakIt: (config: string, good: Record<string, unknown>) => RegExp
  readonly standaloneOnly?: true
  readonly supervisedOnly?: true
}

const escape = (s: string): string => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')

const CASES: readonly Case[] = [
  {
    name: 'a config that is not JSON',
    breakIt: (config) => {
      fs.writeFileSync(config, '{ "bind": ')
      return new RegExp(`the config file ${escape(config)} is not valid JSON: .* at line \\d+, column \\d+`)
    },
  },
  {
    name: 'an unknown key',
    breakIt: (config, good) => {
      writeJson(config, { ...good, drainTimeout: 5000 })
      return /invalid config \(1 problem\):\s+- drainTimeout: is not a config key/
    },
  },
  {
    name: 'a config file that is gone',
    breakIt: (config) => {
      fs.renameSync(config, `${config}.moved`)
      return new RegExp(`cannot read the config file ${escape(config)}: .*ENOENT`)
    },
  },
  {
    name: '`workers` added to a standalone config',
    breakIt: (config, good) => {
      writeJson(config, { ...good, workers: 2 })
      return /`workers` was set in the config of a server that runs without it/
    },
    standaloneOnly: true,
  },
  {
    name: '`workers` removed from a supervised config',
    breakIt: (config, good) => {
      const { workers: _, ...rest } = good
      writeJson(config, rest)
      return /`workers` was removed from the config of a supervised server/
    },
    supervisedOnly: true,
  },
]

describe('a restart whose new config is wrong says why', { timeout: 240_000 }, () => {
  for (const workers of [undefined, 2] as const) {
    for (const c of CASES) {
      if (workers !== undefined && c.standaloneOnly === true) continue
      if (workers === undefined && c.supervisedOnly === true) continue
      const mode = workers === undefined ? 'standalone' : 'supervised'
      it(`${mode}: ${c.name}: the restart's answer and the ${workers === undefined ? 'successor-failed' : 'generation-failed'} line give the reason; the old generation serves on`, () =>
        withDir(async (dir) => {
          const config = path.join(dir, 'echo.json')
          const control = path.join(dir, 'control.sock')
          const good = { bind: 'tcp://127.0.0.1:0', controlPath: control, probationMs: 100, readyTimeoutMs: 60_000, ...(workers !== undefined ? { workers } : {}) }
          writeJson(config, good)
          const server = ServerProcess.echo(config)
          try {
            const listening = await server.waitFor((l) => l.event === 'listening' && (workers === undefined || l.supervisor === true), 'listening')
            const target = { host: '127.0.0.1', port: portOf(listening) }
            const reason = c.breakIt(config, good)

            const r = await runCli(['restart', '--control', control])
            assert.equal(r.code, 1, r.stdout + r.stderr)
            assert.match(r.stderr, /^restart failed: generation 2: /)
            assert.match(r.stderr, reason)

            const failed: LogLine =
              workers === undefined ? await server.event(server.pid, 'successor-failed') : await server.event(server.pid, 'generation-failed')
            assert.match(failed.msg, reason)
            if (workers === undefined) assert.match(String(failed.reason), reason)

            assert.deepStrictEqual(await exchange(target, uniqueLine('old'), 30_000), { ok: true }, 'the old generation serves on')
            writeJson(config, good)
            fs.rmSync(`${config}.moved`, { force: true })
            const again = await runCli(['restart', '--control', control])
            assert.equal(again.code, 0, again.stderr)
            assert.deepStrictEqual(await exchange(target, uniqueLine('new'), 30_000), { ok: true })
            assert.equal((await runCli(['stop', '--control', control])).code, 0)
          } finally {
            server.killAll()
          }
        }))
    }
  }
})
