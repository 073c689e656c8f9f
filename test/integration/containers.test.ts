/**
 * Where production runs a server: as PID 1 of a pid namespace, as `docker run` and Kubernetes start a
 * container's program (`unshare --pid --fork --mount-proc`, which needs root). There the first process's
 * exit ends the namespace: a supervisor restarts under load without exiting, and a standalone server
 * refuses a restart that would end the service.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { emptyStats, exchange, holdClients, record, startLoad, uniqueLine } from '../support/echoLoad'
import { ECHO, freePort, isGone, ServerProcess, tempDir, until, writeJson } from '../support/harness'

const RESTARTS = 10
const root = process.getuid?.() === 0

/** The server started as PID 1 of a new pid namespace; `pid` is its pid out here (its log says 1). */
const asContainerInit = async (config: string): Promise<{ readonly server: ServerProcess; readonly pid: number }> => {
  const server = new ServerProcess(['--pid', '--fork', '--mount-proc', process.execPath, ECHO, config], { command: 'unshare' })
  await server.event(1, 'listening')
  const children = fs.readFileSync(`/proc/${server.pid}/task/${server.pid}/children`, 'utf8').trim().split(/\s+/).map(Number)
  const [pid] = children
  if (pid === undefined || children.length !== 1) throw new Error(`unshare has children ${JSON.stringify(children)}`)
  return { server, pid }
}

describe('as PID 1 of a pid namespace (a container)', { timeout: 240_000, skip: root ? false : 'needs root, to make a pid namespace with unshare' }, () => {
  it(`supervised: ${RESTARTS} restarts of 2 workers under load lose nothing; the supervisor stays PID 1 and stops cleanly`, async (t) => {
    const dir = tempDir()
    const port = await freePort()
    const config = writeJson(path.join(dir, 'echo.json'), { bind: `tcp://127.0.0.1:${port}`, workers: 2, probationMs: 100, readyTimeoutMs: 60_000 })
    const { server, pid } = await asContainerInit(config)
    const target = { host: '127.0.0.1', port }
    const load = startLoad(target, 32)
    try {
      const held = emptyStats()
      for (let generation = 2; generation <= RESTARTS + 1; generation++) {
        const before = load.stats.exchanges
        const clients = await holdClients(target, 4)
        process.kill(pid, 'SIGUSR1')
        await server.waitFor((l) => l.pid === 1 && l.event === 'generation-replaced' && l.generation === generation, `generation ${generation}`)
        for (const o of await clients.finish()) record(held, o)
        await until(() => load.stats.exchanges > before, 'exchanges during the restart')
      }
      const stats = await load.stop()
      t.diagnostic(`PID 1 supervisor: ${RESTARTS} restarts, ${stats.exchanges + held.exchanges} exchanges, ${stats.failed + held.failed} failed ${JSON.stringify(stats.byKind)}`)
      assert.deepStrictEqual([...stats.examples, ...held.examples], [])
      assert.ok(!isGone(pid), 'the supervisor is still running')
      process.kill(pid, 'SIGTERM')
      assert.equal((await server.event(1, 'exit')).code, 0)
      assert.equal((await server.closed).code, 0, 'unshare reports the exit code of the container')
    } finally {
      await load.stop()
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  it('standalone: a restart signal is refused with the reason (a handoff would end the namespace), and the server serves on', async () => {
    const dir = tempDir()
    const port = await freePort()
    const config = writeJson(path.join(dir, 'echo.json'), { bind: `tcp://127.0.0.1:${port}` })
    const { server, pid } = await asContainerInit(config)
    try {
      process.kill(pid, 'SIGUSR1')
      const refused = await server.event(1, 'restart-refused')
      assert.match(refused.msg, /SIGUSR1 refused: this process is PID 1 of its pid namespace .* Set `workers` in the config/)
      assert.deepStrictEqual(await exchange({ host: '127.0.0.1', port }, uniqueLine('after'), 30_000), { ok: true })
      assert.ok(!server.eventsOf(1).includes('successor-spawned'))
      process.kill(pid, 'SIGTERM')
      assert.equal((await server.event(1, 'exit')).code, 0)
    } finally {
      server.killAll()
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})
