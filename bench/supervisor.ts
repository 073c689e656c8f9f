/**
 * Supervisor mode (`workers: 2`) against node:cluster with 2 workers, whose primary accepts every
 * connection and passes it to a worker over IPC, where our workers all accept on the same fds:
 * connection-per-exchange echo throughput and server CPU, keep-alive HTTP throughput (alternating
 * rounds, paired ratios), and restarts under the echo load against `pm2 reload` in cluster mode.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import { performance } from 'node:perf_hooks'
import { startLoad, type Stats, type Target } from '../test/support/echoLoad'
import { startEchoServer } from '../test/support/echoServer'
import { DIST, freePort, type LogLine, portOf, ServerProcess, tempDir, waitGone, writeJson } from '../test/support/harness'
import { type HttpOptions, type HttpRound, httpRound } from './http'
import { type OverheadOptions, round, type Round } from './overhead'
import { alternate } from './alternate'
import { Pm2 } from './pm2'
import { cpuNs } from './proc'

const CLUSTER_ECHO = path.join(DIST, 'bench/servers/clusterEcho.js')
const CLUSTER_HTTP = path.join(DIST, 'bench/servers/clusterHttp.js')
const WORKERS = 2

/** Every process of a server that serves: the first one (supervisor or primary) and its workers. */
const processesOf = (listening: LogLine): number[] => {
  const workers = Array.isArray(listening.workerPids) ? listening.workerPids.filter((p): p is number => typeof p === 'number') : []
  if (workers.length !== WORKERS) throw new Error(`expected ${WORKERS} worker pids in ${JSON.stringify(listening)}`)
  return [listening.pid, ...workers]
}

export interface VersusCluster<R> {
  readonly library: readonly R[]
  readonly cluster: readonly R[]
}

/** Echo, one connection per exchange: the echo example with `workers: 2` against clusterEcho.js. */
export const echoVersusCluster = async (o: OverheadOptions): Promise<VersusCluster<Round>> => {
  const lib = await startEchoServer('tcp', { workers: WORKERS })
  const cluster = new ServerProcess([CLUSTER_ECHO, '0', String(WORKERS)])
  try {
    const libPids = processesOf(await lib.server.event(lib.server.pid, 'listening'))
    const clusterListening = await cluster.event(cluster.pid, 'listening')
    const clusterPids = processesOf(clusterListening)
    const clusterTarget: Target = { host: '127.0.0.1', port: portOf(clusterListening) }
    const r = await alternate(
      o.rounds,
      () => round(libPids, lib.target, o),
      () => round(clusterPids, clusterTarget, o),
    )
    return { library: r.a, cluster: r.b }
  } finally {
    lib.server.killAll()
    cluster.killAll()
    fs.rmSync(lib.dir, { recursive: true, force: true })
  }
}

export interface HttpVersusCluster extends VersusCluster<HttpRound> {
  /**
   * Per round, the busiest worker's share of the workers' CPU time. A kept-alive connection stays with
   * the worker that accepted it, so how the connections spread at the start holds for the whole round.
   */
  readonly busiestShare: VersusCluster<number>
}

/** A keep-alive round, and the busiest worker's share of the CPU time `workers` used in it; the round's CPU is that of `pids` (every process). */
const httpRoundShare = async (port: number, pids: readonly number[], workers: readonly number[], o: HttpOptions): Promise<{ round: HttpRound; share: number }> => {
  const before = workers.map(cpuNs)
  const r = await httpRound(pids, port, o.seconds, o.connections)
  const used = workers.map((pid, i) => cpuNs(pid) - (before[i] ?? 0))
  return { round: r, share: Math.max(...used) / used.reduce((a, b) => a + b, 0) }
}

/** Keep-alive HTTP (wrk): the HTTP example with `workers: 2` against clusterHttp.js. */
export const httpVersusCluster = async (o: HttpOptions): Promise<HttpVersusCluster> => {
  const dir = tempDir()
  const lib = new ServerProcess([path.join(DIST, 'examples/http.js'), writeJson(path.join(dir, 'http.json'), { bind: 'tcp://127.0.0.1:0', workers: WORKERS })])
  const cluster = new ServerProcess([CLUSTER_HTTP, '0', String(WORKERS)])
  try {
    const libListening = await lib.event(lib.pid, 'listening')
    const clusterListening = await cluster.event(cluster.pid, 'listening')
    const [libPort, clusterPort] = [portOf(libListening), portOf(clusterListening)]
    const [libPids, clusterPids] = [processesOf(libListening), processesOf(clusterListening)]
    await httpRound(libPids, libPort, 1, o.connections) // warm both up
    await httpRound(clusterPids, clusterPort, 1, o.connections)
    const r = await alternate(
      o.rounds,
      () => httpRoundShare(libPort, libPids, libPids.slice(1), o),
      () => httpRoundShare(clusterPort, clusterPids, clusterPids.slice(1), o),
    )
    return {
      library: r.a.map((x) => x.round),
      cluster: r.b.map((x) => x.round),
      busiestShare: { library: r.a.map((x) => x.share), cluster: r.b.map((x) => x.share) },
    }
  } finally {
    lib.killAll()
    cluster.killAll()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

export interface ReloadRun {
  readonly server: string
  readonly restarts: number
  readonly stats: Stats
  /** Each restart as the caller awaits it, ms: the signal to 'generation-replaced', or the `pm2 reload` command. */
  readonly restartMs: readonly number[]
  /** From the load's start to the last restart done. */
  readonly seconds: number
  /** Exchanges completed by then, per second (exchanges still hanging then do not stretch it). */
  readonly perSecond: number
}

export interface ReloadOptions {
  readonly restarts: number
  readonly concurrency: number
}

/** An exchange with no reply this long counts as a 'timeout' failure (a healthy one takes a few ms). */
export const RELOAD_HANG_MS = 10_000

/** `restarts` × SIGUSR1 to the supervisor under the echo load, each awaited until the new generation serves. */
export const supervisorRestarts = async (o: ReloadOptions): Promise<ReloadRun> => {
  const { dir, server, target } = await startEchoServer('tcp', { workers: WORKERS })
  let load: ReturnType<typeof startLoad> | undefined
  try {
    const started = performance.now()
    load = startLoad(target, o.concurrency, RELOAD_HANG_MS)
    const restartMs: number[] = []
    for (let generation = 2; generation <= o.restarts + 1; generation++) {
      const t0 = performance.now()
      process.kill(server.pid, 'SIGUSR1')
      await server.waitFor((l) => l.pid === server.pid && l.event === 'generation-replaced' && l.generation === generation, `generation ${generation} to take over`)
      restartMs.push(performance.now() - t0)
    }
    const seconds = (performance.now() - started) / 1000
    const perSecond = load.stats.exchanges / seconds
    const stats = await load.stop()
    process.kill(server.pid, 'SIGTERM')
    await server.event(server.pid, 'exit')
    await waitGone(server.pid)
    return { server: `uninterruptible, ${WORKERS} workers`, restarts: o.restarts, stats, restartMs, seconds, perSecond }
  } finally {
    await load?.stop()
    server.killAll()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

/** `restarts` × `pm2 reload` of clusterEcho.js run by pm2 in cluster mode, under the same load. */
export const pm2Restarts = async (o: ReloadOptions): Promise<ReloadRun> => {
  const pm2 = new Pm2()
  const name = 'uni-bench-echo'
  let load: ReturnType<typeof startLoad> | undefined
  try {
    const port = await freePort()
    await pm2.startCluster(name, CLUSTER_ECHO, WORKERS, [String(port)])
    const started = performance.now()
    load = startLoad({ host: '127.0.0.1', port }, o.concurrency, RELOAD_HANG_MS)
    const restartMs: number[] = []
    for (let i = 0; i < o.restarts; i++) {
      const t0 = performance.now()
      await pm2.cli(['reload', name])
      restartMs.push(performance.now() - t0)
    }
    const seconds = (performance.now() - started) / 1000
    const perSecond = load.stats.exchanges / seconds
    const stats = await load.stop()
    return { server: `pm2 reload, cluster mode, ${WORKERS} instances`, restarts: o.restarts, stats, restartMs, seconds, perSecond }
  } finally {
    await load?.stop()
    await pm2.cleanup()
  }
}
