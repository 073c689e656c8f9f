/**
 * The yardstick: restarts under full load lose nothing, on TCP and on UNIX sockets. Real server
 * processes, real SIGUSR1/SIGTERM, real clients: many connect/echo/close loops plus held clients
 * that connect before each restart and finish their exchange while the old process drains.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import { describe, it } from 'node:test'
import { emptyStats, exchange, holdClients, record, startLoad, uniqueLine } from '../support/echoLoad'
import { startEchoServer } from '../support/echoServer'
import { isGone, percentile, readPid, waitGone } from '../support/harness'

const RESTARTS = 20
const CONCURRENCY = 32
const HELD_PER_RESTART = 4

const restartUnderLoad = async (t: { diagnostic: (m: string) => void }, transport: 'tcp' | 'unix'): Promise<void> => {
  const { dir, pidfile, socketPath, server, target } = await startEchoServer(transport)
  let load: ReturnType<typeof startLoad> | undefined
  try {
    assert.equal(readPid(pidfile), server.pid)

    load = startLoad(target, CONCURRENCY)
    const heldStats = emptyStats()
    const handoffMs: number[] = []
    const generations = [server.pid]
    for (let i = 1; i <= RESTARTS; i++) {
      const before = load.stats.exchanges
      const held = await holdClients(target, HELD_PER_RESTART)
      // the accept queue is first in, first out: once this is served, the held clients were accepted
      record(heldStats, await exchange(target, uniqueLine(`probe${i}`), 60_000))
      const oldPid = readPid(pidfile)
      process.kill(oldPid, 'SIGUSR1')
      const requested = await server.event(oldPid, 'restart-requested')
      const ready = await server.event(oldPid, 'successor-ready')
      const newPid = Number(ready.successorPid)
      handoffMs.push(ready.time - requested.time)
      generations.push(newPid)
      assert.equal(readPid(pidfile), newPid, 'the pidfile names the new generation once it is ready')
      const draining = await server.event(oldPid, 'draining')
      assert.ok(Number(draining.active) >= HELD_PER_RESTART, `generation ${oldPid} drains the held clients (it reports ${String(draining.active)} open)`)
      for (const outcome of await held.finish()) record(heldStats, outcome)
      await server.event(oldPid, 'exit')
      await waitGone(oldPid)
      assert.ok(load.stats.exchanges > before, `restart ${i} happened while clients were exchanging`)
    }
    const stats = await load.stop()

    const finalPid = readPid(pidfile)
    process.kill(finalPid, 'SIGTERM')
    const exit = await server.event(finalPid, 'exit')
    assert.equal(exit.code, 0)
    await waitGone(finalPid)

    t.diagnostic(
      `${transport}: ${RESTARTS} restarts, ${stats.exchanges} looping and ${heldStats.exchanges} held or probe exchanges, ` +
        `${stats.failed + heldStats.failed} failed ${JSON.stringify(stats.byKind)}; ` +
        `handoff (USR1 to successor ready) p50 ${percentile(handoffMs, 50)} ms, max ${Math.max(...handoffMs)} ms`,
    )
    assert.deepStrictEqual([...stats.examples, ...heldStats.examples], [], 'no failed exchange')
    assert.equal(stats.failed + heldStats.failed, 0)
    assert.equal(heldStats.exchanges, RESTARTS * (HELD_PER_RESTART + 1), 'every held client and probe was served')
    assert.equal(new Set(generations).size, RESTARTS + 1, 'each restart made a new process')
    for (const pid of [...generations, ...server.pids()]) assert.ok(isGone(pid), `generation ${pid} has exited`)
    for (const pid of generations.slice(0, -1)) {
      assert.deepStrictEqual(
        server.eventsOf(pid).filter((e) => ['successor-ready', 'draining', 'drained', 'exit'].includes(e)),
        ['successor-ready', 'draining', 'drained', 'exit'],
        `generation ${pid} handed over, drained and exited`,
      )
    }
    assert.ok(!fs.existsSync(pidfile), 'no pidfile is left')
    assert.ok(!fs.existsSync(socketPath), 'no socket file is left')
    assert.deepStrictEqual(fs.readdirSync(dir).sort(), ['echo.json'], 'nothing else is left in the folder')
  } finally {
    server.killAll()
    await load?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

describe('restarts under load', { timeout: 300_000 }, () => {
  it(`TCP: ${RESTARTS} USR1 restarts with ${CONCURRENCY} looping clients and held clients lose nothing`, async (t) => {
    await restartUnderLoad(t, 'tcp')
  })

  it(`UNIX: ${RESTARTS} USR1 restarts with ${CONCURRENCY} looping clients and held clients lose nothing`, async (t) => {
    await restartUnderLoad(t, 'unix')
  })
})
