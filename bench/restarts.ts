/**
 * Measure 1: restarts under load. Many connect/echo/close loops plus held clients (connected before each
 * restart, finished after it) run while the server restarts over and over; every exchange is checked.
 * The same load runs against the naive restart people do today: kill a plain server, start it again.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { performance } from 'node:perf_hooks'
import { FAILURE_KINDS, type FailureKind, holdClients, record, startLoad, type Stats, type Target } from '../test/support/echoLoad'
import { startEchoServer } from '../test/support/echoServer'
import { DIST, freePort, readPid, ServerProcess, tempDir, waitGone } from '../test/support/harness'

export interface RestartRun {
  readonly server: 'uninterruptible' | 'naive kill + start'
  readonly transport: 'tcp' | 'unix'
  readonly restarts: number
  readonly exchanges: number
  readonly failed: number
  readonly byKind: Record<FailureKind, number>
  /** uninterruptible: USR1 to successor ready; naive: kill to the new process listening. */
  readonly handoffMs: readonly number[]
  /** uninterruptible only: old generation, draining to exit. */
  readonly drainMs: readonly number[]
  readonly seconds: number
}

export interface RestartOptions {
  readonly restarts: number
  readonly concurrency: number
  readonly held: number
}

const merge = (stats: Stats): Pick<RestartRun, 'exchanges' | 'failed' | 'byKind'> => ({
  exchanges: stats.exchanges,
  failed: stats.failed,
  byKind: { ...stats.byKind },
})

export const withLibrary = async (transport: 'tcp' | 'unix', o: RestartOptions): Promise<RestartRun> => {
  const { dir, pidfile, server, target } = await startEchoServer(transport)
  let load: ReturnType<typeof startLoad> | undefined
  try {
    const started = performance.now()
    load = startLoad(target, o.concurrency)
    const handoffMs: number[] = []
    const drainMs: number[] = []
    for (let i = 0; i < o.restarts; i++) {
      const held = await holdClients(target, o.held)
      const old = readPid(pidfile)
      process.kill(old, 'SIGUSR1')
      const requested = await server.event(old, 'restart-requested')
      const ready = await server.event(old, 'successor-ready')
      handoffMs.push(ready.time - requested.time)
      const draining = await server.event(old, 'draining')
      for (const outcome of await held.finish()) record(load.stats, outcome)
      const exit = await server.event(old, 'exit')
      drainMs.push(exit.time - draining.time)
      await waitGone(old)
    }
    const stats = await load.stop()
    const seconds = (performance.now() - started) / 1000
    const last = readPid(pidfile)
    process.kill(last, 'SIGTERM')
    await server.event(last, 'exit')
    await waitGone(last)
    return { server: 'uninterruptible', transport, restarts: o.restarts, ...merge(stats), handoffMs, drainMs, seconds }
  } finally {
    server.killAll()
    await load?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

const RAW_ECHO = path.join(DIST, 'bench/servers/rawEcho.js')

export const naive = async (transport: 'tcp' | 'unix', o: RestartOptions): Promise<RestartRun> => {
  const dir = tempDir()
  const sock = path.join(dir, 'echo.sock')
  const args = transport === 'tcp' ? ['tcp', String(await freePort())] : ['unix', sock]
  const start = async (): Promise<ServerProcess> => {
    const s = new ServerProcess([RAW_ECHO, ...args])
    await s.event(s.pid, 'listening')
    return s
  }
  let server = await start()
  let load: ReturnType<typeof startLoad> | undefined
  try {
    const target: Target = transport === 'tcp' ? { host: '127.0.0.1', port: Number(args[1]) } : { path: sock }
    const started = performance.now()
    load = startLoad(target, o.concurrency)
    const handoffMs: number[] = []
    for (let i = 0; i < o.restarts; i++) {
      const held = await holdClients(target, o.held)
      const t0 = performance.now()
      process.kill(server.pid, 'SIGTERM')
      await server.exited
      server = await start()
      handoffMs.push(performance.now() - t0)
      for (const outcome of await held.finish()) record(load.stats, outcome)
    }
    const stats = await load.stop()
    const seconds = (performance.now() - started) / 1000
    return { server: 'naive kill + start', transport, restarts: o.restarts, ...merge(stats), handoffMs, drainMs: [], seconds }
  } finally {
    server.killAll()
    await load?.stop()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

export const failureSummary = (byKind: Record<FailureKind, number>): string =>
  FAILURE_KINDS.filter((k) => byKind[k] > 0)
    .map((k) => `${k} ${byKind[k]}`)
    .join(', ') || 'none'
