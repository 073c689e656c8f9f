/**
 * The node:cluster baseline shared by clusterEcho.ts and clusterHttp.ts: `node <file> <port> [workers]`.
 * The primary forks the workers and prints one JSON line (event 'listening', the port, the worker pids)
 * once every worker listens; its primary accepts each connection and passes it to a worker over IPC
 * (round-robin, Node's default on Linux). A worker listens on the port (0: the primary picks one for
 * all) and, on SIGINT or SIGTERM, closes its listener and exits once its connections are done: the
 * graceful shutdown pm2's documentation asks of an app, since `pm2 reload` stops old workers with SIGINT.
 * Under pm2 the file runs as a worker only (pm2's daemon is the primary).
 */
import cluster from 'node:cluster'
import type { Server } from 'node:net'

const line = (fields: Record<string, unknown>): void => {
  process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, generation: 0, msg: 'cluster', ...fields })}\n`)
}

const worker = (server: Server, port: number): void => {
  server.listen(port, '127.0.0.1', () => {
    const a = server.address()
    line({ event: 'listening', worker: true, bind: `tcp://127.0.0.1:${a !== null && typeof a === 'object' ? a.port : port}` })
  })
  const stop = (): void => {
    server.close(() => process.exit(0))
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
}

const primary = (workers: number): void => {
  const pids: number[] = []
  let alive = workers
  let stopping = false
  cluster.on('listening', (w, address) => {
    if (w.process.pid !== undefined) pids.push(w.process.pid)
    if (pids.length === workers) line({ event: 'listening', bind: `tcp://127.0.0.1:${address.port}`, workers, workerPids: pids })
  })
  cluster.on('exit', (w, code, signal) => {
    alive -= 1
    if (stopping) {
      if (alive === 0) process.exit(0)
      return
    }
    // a baseline, not a supervisor: a worker that dies ends the run
    process.stderr.write(`cluster baseline: worker ${String(w.process.pid)} exited (code ${code}, signal ${signal})\n`)
    process.exit(1)
  })
  const stop = (): void => {
    stopping = true
    for (const w of Object.values(cluster.workers ?? {})) w?.kill()
  }
  process.once('SIGINT', stop)
  process.once('SIGTERM', stop)
  for (let i = 0; i < workers; i++) cluster.fork()
}

/** Runs `create()`'s server in `workers` node:cluster workers on the port given as the first argument. */
export const clustered = (create: () => Server): void => {
  const port = Number(process.argv[2] ?? 0)
  if (cluster.isPrimary) primary(Number(process.argv[3] ?? 2))
  else worker(create(), port)
}
