/**
 * Measure 4: drain at scale. Idle connections held across a restart, all served by the old process while
 * new clients go to the new one; the old process's memory per connection against a raw server's; the
 * time from the last connection closing to the old process's exit; and TERM to exit on an idle server.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { performance } from 'node:perf_hooks'
import { EchoClient, exchange, type Target, uniqueLine } from '../test/support/echoLoad'
import { DIST, portOf, ServerProcess, tempDir, waitGone, writeJson } from '../test/support/harness'
import { rssBytes } from './proc'

export interface Drain {
  readonly idle: number
  /** Idle connections whose exchange succeeded after the restart (all of them, or the run failed). */
  readonly servedByOld: number
  readonly oldAccepted: number
  readonly newClientsServed: number
  readonly bytesPerConnection: { readonly library: number; readonly raw: number }
  readonly lastCloseToExitMs: number
  readonly termToExitMs: { readonly library: readonly number[]; readonly raw: readonly number[] }
}

const RAW_ECHO = path.join(DIST, 'bench/servers/rawEcho.js')

const openIdle = async (target: Target, n: number): Promise<EchoClient[]> => {
  const clients: EchoClient[] = []
  for (let i = 0; i < n; i += 500) {
    const batch = Array.from({ length: Math.min(500, n - i) }, () => new EchoClient(target, 300_000))
    if (!(await Promise.all(batch.map((c) => c.connected))).every(Boolean)) throw new Error('an idle connection failed to connect')
    clients.push(...batch)
  }
  // the accept queue is first in, first out: once this is served, every idle connection was accepted
  const probe = await exchange(target, uniqueLine('probe'), 60_000)
  if (!probe.ok) throw new Error(`probe failed: ${probe.detail}`)
  return clients
}

const memoryPerConnection = async (server: ServerProcess, target: Target, n: number): Promise<{ perConnection: number; clients: EchoClient[] }> => {
  for (let i = 0; i < 200; i++) await exchange(target, uniqueLine('warm'), 30_000)
  const before = rssBytes(server.pid)
  const clients = await openIdle(target, n)
  return { perConnection: (rssBytes(server.pid) - before) / n, clients }
}

const termToExit = async (start: () => Promise<ServerProcess>, samples: number): Promise<number[]> => {
  const ms: number[] = []
  for (let i = 0; i < samples; i++) {
    const server = await start()
    const t0 = performance.now()
    process.kill(server.pid, 'SIGTERM')
    await server.exited
    ms.push(performance.now() - t0)
  }
  return ms
}

export const drain = async (idle: number, samples: number): Promise<Drain> => {
  const dir = tempDir()
  try {
    // raw server: memory per idle connection
    const raw = new ServerProcess([RAW_ECHO, 'tcp', '0', '--graceful'])
    let rawPerConnection: number
    try {
      const target = { host: '127.0.0.1', port: portOf(await raw.event(raw.pid, 'listening')) }
      const m = await memoryPerConnection(raw, target, idle)
      rawPerConnection = m.perConnection
      for (const c of m.clients) c.send(uniqueLine('bye'))
      await Promise.all(m.clients.map((c) => c.result))
    } finally {
      raw.killAll()
    }

    // the library: the same, then a restart while they are open
    const server = ServerProcess.echo(writeJson(path.join(dir, 'echo.json'), { bind: 'tcp://127.0.0.1:0', readyTimeoutMs: 60_000, probationMs: 0 }))
    let result: Omit<Drain, 'termToExitMs'>
    try {
      const target = { host: '127.0.0.1', port: portOf(await server.event(server.pid, 'listening')) }
      const { perConnection, clients } = await memoryPerConnection(server, target, idle)
      process.kill(server.pid, 'SIGUSR1')
      const successor = Number((await server.event(server.pid, 'successor-ready')).successorPid)
      const fresh = await Promise.all(Array.from({ length: 500 }, (_, i) => exchange(target, uniqueLine(`new${i}`), 60_000)))
      const [last, ...rest] = clients
      if (last === undefined) throw new Error('no idle connections')
      rest.forEach((c, i) => c.send(uniqueLine(`idle${i}`)))
      const outcomes = await Promise.all(rest.map((c) => c.result))
      last.send(uniqueLine('last'))
      const lastOutcome = await last.result
      const t0 = performance.now()
      await server.exited
      const lastCloseToExitMs = performance.now() - t0
      const drained = await server.event(server.pid, 'drained')
      result = {
        idle,
        servedByOld: [...outcomes, lastOutcome].filter((o) => o.ok).length,
        oldAccepted: Number(drained.accepted),
        newClientsServed: fresh.filter((o) => o.ok).length,
        bytesPerConnection: { library: perConnection, raw: rawPerConnection },
        lastCloseToExitMs,
      }
      process.kill(successor, 'SIGTERM')
      await waitGone(successor)
    } finally {
      server.killAll()
    }

    const libStart = async (): Promise<ServerProcess> => {
      const s = ServerProcess.echo(writeJson(path.join(dir, 'idle.json'), { bind: 'tcp://127.0.0.1:0' }))
      await s.event(s.pid, 'listening')
      return s
    }
    const rawStart = async (): Promise<ServerProcess> => {
      const s = new ServerProcess([RAW_ECHO, 'tcp', '0', '--graceful'])
      await s.event(s.pid, 'listening')
      return s
    }
    return { ...result, termToExitMs: { library: await termToExit(libStart, samples), raw: await termToExit(rawStart, samples) } }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
