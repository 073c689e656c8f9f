/**
 * Baseline: the example's echo handler in node:cluster workers (see cluster.ts), as a node:cluster app
 * runs it and as `pm2 start clusterEcho.js -i 2 -- <port>` runs it. `node clusterEcho.js <port> [workers]`.
 */
import * as net from 'node:net'
import { echoLine } from '../../examples/handlers'
import { clustered } from './cluster'

clustered(() =>
  net.createServer((socket) => {
    socket.on('error', () => undefined)
    void echoLine(socket)
      .catch(() => undefined)
      .finally(() => socket.end())
  }),
)
