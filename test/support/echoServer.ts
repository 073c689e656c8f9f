/**
 * The echo example started the way the restart tests and the restart bench need it: in a fresh
 * folder holding its config, pidfile and (on UNIX) socket file, listening on a free TCP port or
 * the socket file, with the target clients connect to.
 */
import * as fs from 'node:fs'
import * as path from 'node:path'
import type { Target } from './echoLoad'
import { ECHO, portOf, ServerProcess, tempDir, writeJson } from './harness'

export interface EchoServer {
  readonly dir: string
  readonly pidfile: string
  readonly socketPath: string
  readonly server: ServerProcess
  readonly target: Target
}

/** `extra` adds config keys (`workers` makes it a supervisor); `app`, another echo server than the example; the target is where clients connect. */
export const startEchoServer = async (transport: 'tcp' | 'unix', extra: Record<string, unknown> = {}, app: string = ECHO): Promise<EchoServer> => {
  const dir = tempDir()
  const pidfile = path.join(dir, 'echo.pid')
  const socketPath = path.join(dir, 'echo.sock')
  const config = writeJson(path.join(dir, 'echo.json'), {
    bind: transport === 'tcp' ? 'tcp://127.0.0.1:0' : `unix://${socketPath}`,
    pidfilePath: pidfile,
    readyTimeoutMs: 60_000,
    probationMs: 100, // restarts follow one another under load; the probation's default has its own tests
    ...extra,
  })
  const server = new ServerProcess([app, config])
  try {
    const listening = await server.event(server.pid, 'listening')
    const target: Target = transport === 'tcp' ? { host: '127.0.0.1', port: portOf(listening) } : { path: socketPath }
    return { dir, pidfile, socketPath, server, target }
  } catch (e) {
    server.killAll()
    fs.rmSync(dir, { recursive: true, force: true })
    throw e
  }
}
