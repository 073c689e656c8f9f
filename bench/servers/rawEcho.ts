/**
 * Baseline: a plain `net` echo server with the example's handler and no library, as people run one
 * today. `node rawEcho.js tcp <port>` or `node rawEcho.js unix <path>` (an existing socket file is
 * removed first, as a restart script would). Prints one JSON line when listening. With `--graceful`,
 * SIGTERM closes the listener and the process exits when its connections are done; without it, SIGTERM
 * kills it at once (Node's default).
 */
import * as fs from 'node:fs'
import * as net from 'node:net'
import { echoLine } from '../../examples/handlers'

const [kind, where, flag] = process.argv.slice(2)
const server = net.createServer((socket) => {
  socket.on('error', () => undefined)
  void echoLine(socket)
    .catch(() => undefined)
    .finally(() => socket.end())
})
if (flag === '--graceful') process.once('SIGTERM', () => server.close())
const announce = (): void => {
  const a = server.address()
  const bind = a !== null && typeof a === 'object' ? `tcp://${a.address}:${a.port}` : `unix://${String(a)}`
  process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, generation: 0, event: 'listening', bind, msg: 'raw' })}\n`)
}
if (kind === 'unix' && where !== undefined) {
  fs.rmSync(where, { force: true })
  server.listen(where, announce)
} else {
  server.listen(Number(where ?? 0), '127.0.0.1', announce)
}
