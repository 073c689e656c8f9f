/**
 * The physical floor of a handoff: a bare Node process that listens on the inherited socket (fd 3) and
 * reports ready on fd 4, nothing else.
 */
import * as fs from 'node:fs'
import * as net from 'node:net'

net.createServer().listen({ fd: 3 }, () => {
  fs.writeSync(4, 'R')
  process.exit(0)
})
