/** Baseline: a plain http.Server with the example's listener. `node rawHttp.js <port>`. */
import * as http from 'node:http'
import { hello } from '../../examples/handlers'

const server = http.createServer(hello)
server.listen(Number(process.argv[2] ?? 0), '127.0.0.1', () => {
  const a = server.address()
  const port = a !== null && typeof a === 'object' ? a.port : 0
  process.stdout.write(`${JSON.stringify({ level: 30, time: Date.now(), pid: process.pid, generation: 0, event: 'listening', bind: `tcp://127.0.0.1:${port}`, msg: 'raw' })}\n`)
})
