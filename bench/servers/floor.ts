/**
 * The physical floor of a handoff: a bare Node process that listens on the inherited socket (fd 3) and
 * reports ready on fd 4 (the channel's ready line), nothing else.
 */
import * as fs from 'node:fs'
import * as net from 'node:net'

net.createServer().listen({ fd: 3 }, () => {
  fs.writeSync(4, '{"type":"ready"}\n')
  process.exit(0)
})
