/**
 * A new process that fails never takes the service down, and a config that is wrong never starts one.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { exchange, startLoad, uniqueLine } from '../support/echoLoad'
import { ECHO, readPid, ServerProcess, tempDir, testEnv, writeJson } from '../support/harness'

describe('a successor that exits 1', { timeout: 120_000 }, () => {
  it('leaves the old process serving with the same pid, and the next good restart works', async (t) => {
    const dir = tempDir()
    const pidfile = path.join(dir, 'echo.pid')
    const socketPath = path.join(dir, 'echo.sock')
    const broken = path.join(dir, 'broken')
    const config = path.join(dir, 'echo.json')
    writeJson(config, {
      bind: `unix://${socketPath}`,
      pidfilePath: pidfile,
      // a deploy whose new code is broken until the flag file goes away
      startCommand: `test -f ${broken} && exit 1; exec ${process.execPath} ${ECHO} ${config}`,
      readyTimeoutMs: 60_000,
    })
    const server = ServerProcess.echo(config, { env: testEnv() })
    let load: ReturnType<typeof startLoad> | undefined
    try {
      await server.event(server.pid, 'listening')
      load = startLoad({ path: socketPath }, 8)
      fs.writeFileSync(broken, '')

      process.kill(server.pid, 'SIGUSR1')
      const failed = await server.event(server.pid, 'successor-failed')
      assert.equal(failed.failure, 'exited')
      assert.equal(failed.exitCode, 1)
      assert.match(failed.msg, /exited with code 1 before it was ready; still serving/)
      assert.equal(readPid(pidfile), server.pid, 'the pidfile still names the old process')
      assert.deepStrictEqual(await exchange({ path: socketPath }, uniqueLine('after-failure'), 30_000), { ok: true })

      fs.rmSync(broken)
      const before = server.lines.length
      process.kill(server.pid, 'SIGUSR1')
      const ready = await server.waitFor((l) => server.lines.indexOf(l) >= before && l.pid === server.pid && l.event === 'successor-ready', 'the second restart')
      const successor = Number(ready.successorPid)
      assert.equal(ready.attempt, 2)
      await server.event(server.pid, 'exit')
      assert.equal(readPid(pidfile), successor)

      const stats = await load.stop()
      t.diagnostic(`exchanges ${stats.exchanges}, failed ${stats.failed} ${JSON.stringify(stats.byKind)}`)
      assert.deepStrictEqual(stats.examples, [])
      assert.ok(stats.exchanges > 0)

      await server.stop(successor)
      assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['echo.json'])
    } finally {
      await load?.stop()
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe('invalid config is refused before anything is bound or written', { timeout: 120_000 }, () => {
  // each case breaks one key; JSON.stringify drops the keys set to undefined
  const cases: readonly [name: string, config: Record<string, unknown>, message: RegExp][] = [
    ['a malformed bind', { bind: 'localhost:6789' }, /bind: "localhost:6789" is not an address: expected tcp:\/\/host:port/],
    ['a missing bind without PORT', { bind: undefined }, /bind: is missing: expected an address/],
    ['a bind port out of range', { bind: 'tcp://127.0.0.1:70000' }, /bind: "tcp:\/\/127.0.0.1:70000" has an invalid port "70000"/],
    ['a relative UNIX path', { bind: 'unix://echo.sock' }, /bind: "unix:\/\/echo.sock" is not an absolute UNIX socket path/],
    ['an unknown key', { BIND: 'x' }, /BIND: is not a config key/],
    ['an empty startCommand', { startCommand: '' }, /startCommand: got "", expected a non-empty string/],
    ['a pidfilePath number', { pidfilePath: 7 }, /pidfilePath: got 7, expected a non-empty string/],
    ['a logPath array', { logPath: ['a'] }, /logPath: got \["a"\], expected a non-empty string/],
    ['an unknown logLevel', { logLevel: 'verbose' }, /logLevel: got "verbose", expected one of fatal, error, warn, info, debug, trace, silent/],
    ['a negative drainTimeoutMs', { drainTimeoutMs: -1 }, /drainTimeoutMs: got -1, expected a whole number of milliseconds/],
    ['a zero readyTimeoutMs', { readyTimeoutMs: 0 }, /readyTimeoutMs: got 0, expected a whole number of milliseconds/],
    ['SIGTERM as restartSignal', { restartSignal: 'SIGTERM' }, /restartSignal: got "SIGTERM", expected one of SIGUSR1, SIGUSR2, SIGHUP/],
    ['a decimal socketMode', { socketMode: 660 }, /socketMode: got 660, expected a file mode as an octal string/],
  ]

  const refused = async (dir: string, configFile: string, message: RegExp): Promise<void> => {
    const server = ServerProcess.echo(configFile, { env: testEnv() })
    try {
      await check(dir, server, message)
    } finally {
      server.killAll()
    }
  }

  const check = async (dir: string, server: ServerProcess, message: RegExp): Promise<void> => {
    const { code } = await server.closed
    assert.equal(code, 1)
    const stderr = server.text.join('\n')
    assert.match(stderr, /^uninterruptible: /)
    assert.match(stderr, message)
    assert.deepStrictEqual(server.lines, [], 'nothing is logged as if it ran')
    assert.deepStrictEqual(fs.readdirSync(dir).filter((f) => !f.endsWith('.json')), [], 'no pidfile, socket or log file')
  }

  for (const [name, config, message] of cases) {
    it(`${name}: exits 1 naming the key`, async () => {
      const dir = tempDir()
      try {
        // valid values for everything the case does not break, so only its key is wrong
        const base = { bind: `unix://${dir}/echo.sock`, pidfilePath: `${dir}/echo.pid`, logPath: `${dir}/echo.log` }
        const file = writeJson(path.join(dir, 'echo.json'), { ...base, ...config })
        await refused(dir, file, message)
      } finally {
        fs.rmSync(dir, { recursive: true, force: true })
      }
    })
  }

  it('names every invalid key in one message', async () => {
    const dir = tempDir()
    try {
      const file = writeJson(path.join(dir, 'echo.json'), { bind: 'nope', logLevel: 'loud', drainTimeoutMs: 'soon', pidfilePath: `${dir}/echo.pid` })
      await refused(dir, file, /invalid config \(3 problems\):\n {2}- bind: .*\n {2}- logLevel: .*\n {2}- drainTimeoutMs: /)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('a config file that is missing or not JSON', async () => {
    const dir = tempDir()
    try {
      await refused(dir, path.join(dir, 'missing.json'), /cannot read the config file .*missing\.json: ENOENT/)
      const bad = path.join(dir, 'bad.json')
      fs.writeFileSync(bad, '{ "bind": ')
      await refused(dir, bad, /the config file .*bad\.json is not valid JSON/)
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
