/**
 * Baseline for TLS: a plain `tls.Server` with the example's handlers and no library, as people run one
 * today. `node rawTlsEcho.js CERT KEY [line|stream]`: listens on a free port of 127.0.0.1 with that
 * certificate and key, runs `echoLine` (the default) or `echoStream` on each secure connection and ends
 * the socket when the handler settles, as the library does; the handshake timeout is the library's
 * default. Prints one JSON line when listening.
 */
import * as fs from 'node:fs'
import * as tls from 'node:tls'
import { echoLine, echoStream } from '../../examples/handlers'

const [certPath, keyPath, mode] = process.argv.slice(2)
if (certPath === undefined || keyPath === undefined) throw new Error('usage: rawTlsEcho.js CERT KEY [line|stream]')
const handler = mode === 'stream' ? echoStream : echoLine
const server = tls.createServer({ cert: fs.readFileSync(certPath), key: fs.readFileSync(keyPath), handshakeTimeout: 10_000 }, (socket) => {
  socket.on('error', () => undefined)
  void handler(socket)
    .catch(() => undefined)
    .finally(() => socket.end())
})
server.on('tlsClientError', (_err, socket) => socket.destroy())
server.listen(0, '127.0.0.1', () => {
  const a = server.address()
  const bind = a !== null && typeof a === 'object' ? `tcp://${a.address}:${a.port}` : String(a)
  process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, generation: 0, event: 'listening', bind, msg: 'raw tls' })}\n`)
})
