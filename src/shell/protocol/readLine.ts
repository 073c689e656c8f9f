/**
 * readLine, for handlers: reads one line (up to and including '\n') from a socket, like Ruby's `gets`: at end of input it
 * gives whatever arrived, possibly nothing. Rejects on a socket error or a line over `limit` bytes.
 */
import type { Socket } from 'node:net'

/**
 * Reads one line from `socket`, up to and including its `'\n'`, like Ruby's `gets`: at the end of the
 * input, whatever arrived (possibly `''`). Rejects on a socket error, or when more than `limit`
 * characters (65536 by default) arrive without a newline. Sets the socket's encoding to UTF-8.
 *
 * @param socket - the connection's socket
 * @param limit - the longest line accepted, in characters
 * @returns the line, with its newline; at the end of the input, the rest (possibly empty)
 *
 * @remarks
 * What arrived after the newline in the same chunk is not kept for the next call: use it for a client
 * that sends one line and waits for the answer, not for a pipelined stream of lines.
 *
 * @example
 * An echo server, one line at a time:
 * ```ts
 * import { readLine, serve } from 'uninterruptible'
 *
 * void serve('config.json', async (socket) => {
 *   const line = await readLine(socket)
 *   socket.write(line)
 * })
 * ```
 */
export const readLine = (socket: Socket, limit = 64 * 1024): Promise<string> =>
  new Promise((resolve, reject) => {
    let buffer = ''
    const done = (): void => {
      socket.removeListener('data', onData)
      socket.removeListener('end', onEnd)
      socket.removeListener('error', onError)
    }
    const onData = (chunk: string): void => {
      buffer += chunk
      const newline = buffer.indexOf('\n')
      if (newline >= 0) {
        done()
        resolve(buffer.slice(0, newline + 1))
      } else if (buffer.length > limit) {
        done()
        reject(new Error(`line longer than ${limit} bytes`))
      }
    }
    const onEnd = (): void => {
      done()
      resolve(buffer)
    }
    const onError = (err: Error): void => {
      done()
      reject(err)
    }
    socket.setEncoding('utf8')
    socket.on('data', onData)
    socket.once('end', onEnd)
    socket.once('error', onError)
  })
