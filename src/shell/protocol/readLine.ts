/**
 * readLine, for handlers: reads one line (up to and including '\n') from a socket, like Ruby's `gets`: at end of input it
 * gives whatever arrived, possibly nothing. Rejects on a socket error or a line over `limit` bytes.
 */
import type { Socket } from 'node:net'

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
