/**
 * The example handlers, shared with the benchmark's raw servers so that both run the same code:
 * the gem's echo (read one line, write it back), a stream echo (everything back until the client
 * ends) and a tiny HTTP listener.
 */
import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Socket } from 'node:net'
// the function `uninterruptible` exports as `readLine`, from its own file: the benchmark's raw servers
// run these handlers without loading the library
import { readLine } from '../src/shell/protocol/readLine'

/** Echoes one line. The caller ends the socket afterwards (the library does it for `serve`). */
export const echoLine = async (socket: Socket): Promise<void> => {
  socket.write(await readLine(socket))
}

/**
 * Echoes everything the client sends until it ends its side (or the connection closes): a stream, for
 * throughput. The caller ends the socket afterwards, as for `echoLine`.
 */
export const echoStream = (socket: Socket): Promise<void> =>
  new Promise((resolve) => {
    socket.pipe(socket, { end: false })
    socket.once('end', () => resolve())
    socket.once('close', () => resolve())
  })

/** GET / answers 200 with the pid that served it; anything else 404. */
export const hello = (req: IncomingMessage, res: ServerResponse): void => {
  if (req.method === 'GET' && req.url === '/') {
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end(`hello from pid ${process.pid}\n`)
  } else {
    res.writeHead(404, { 'content-type': 'text/plain' })
    res.end('not found\n')
  }
}
