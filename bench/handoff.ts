/**
 * Measure 3: handoff latency against its physical floor. The same parent, holding a listening socket,
 * spawns (a) a bare Node process that listens on the inherited socket and reports ready, and (b) the
 * echo example as a real successor (the environment a restart sets), interleaved, timing spawn to ready
 * byte. Also: a real SIGUSR1 to ready on an idle server, and the time to load the library.
 */
import { spawn } from 'node:child_process'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { performance } from 'node:perf_hooks'
import type { Readable } from 'node:stream'
import * as O from 'fp-ts/Option'
import { tcp } from '../src/core/bind'
import { inheritEnv } from '../src/core/wire/inherit'
import { listenFd } from '../src/shell/os/handles'
import { DIST, ECHO, readPid, ServerProcess, tempDir, waitGone, writeJson } from '../test/support/harness'

export interface Handoff {
  readonly floorMs: readonly number[]
  readonly successorMs: readonly number[]
  /** SIGUSR1 to successor ready, on an idle server (from its log). */
  readonly restartMs: readonly number[]
  /** Time to `require` the library in a fresh process. */
  readonly importMs: readonly number[]
}

const listening = (): Promise<net.Server> =>
  new Promise((resolve) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => resolve(s))
  })

/** Spawn to ready byte, in ms; the child is then killed (after `lingerMs`, for one that has work to finish after ready). */
export const spawnToReady = async (args: readonly string[], env: NodeJS.ProcessEnv, fd: number, lingerMs = 0): Promise<number> => {
  const t0 = performance.now()
  const child = spawn(process.execPath, args, { stdio: ['ignore', 'ignore', 'inherit', fd, 'pipe'], env, detached: true })
  const pipe = child.stdio[4] as Readable
  await new Promise<void>((resolve, reject) => {
    pipe.once('data', () => resolve())
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited with ${String(code)} before ready`)))
  })
  const ms = performance.now() - t0
  if (lingerMs > 0) await new Promise((r) => setTimeout(r, lingerMs))
  child.removeAllListeners('exit')
  const gone = new Promise((r) => child.once('exit', r))
  try {
    process.kill(-(child.pid ?? 0), 'SIGKILL')
  } catch {
    // already gone
  }
  await gone
  return ms
}

const importTime = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const lib = path.join(DIST, 'lib/index.js')
    const code = `const t=process.hrtime.bigint();require(${JSON.stringify(lib)});process.stdout.write(String(Number(process.hrtime.bigint()-t)/1e6))`
    const child = spawn(process.execPath, ['-e', code], { stdio: ['ignore', 'pipe', 'inherit'] })
    let out = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.once('exit', () => (out === '' ? reject(new Error('no import time')) : resolve(Number(out))))
  })

export const handoff = async (samples: number): Promise<Handoff> => {
  const dir = tempDir()
  const socket = await listening()
  try {
    const fdResult = listenFd(socket)
    if (fdResult._tag === 'Left') throw new Error('no listening fd')
    const fd = fdResult.right
    const bind = 'tcp://127.0.0.1:0'
    const config = writeJson(path.join(dir, 'echo.json'), { bind })
    const successorEnv = {
      ...process.env,
      ...inheritEnv({
        role: 'successor',
        generation: 2,
        parentPid: process.pid,
        restartSignal: 'SIGUSR1',
        channelFd: 4,
        listeners: [{ bind: tcp('127.0.0.1', 0), fd: 3, socketId: O.none }],
        pidlockFd: O.none,
        control: O.none,
      }),
    }
    const floorMs: number[] = []
    const successorMs: number[] = []
    for (let i = 0; i < samples; i++) {
      floorMs.push(await spawnToReady([path.join(DIST, 'bench/servers/floor.js')], process.env, fd))
      successorMs.push(await spawnToReady([ECHO, config], successorEnv, fd))
    }

    const pidfile = path.join(dir, 'echo.pid')
    const server = ServerProcess.echo(writeJson(path.join(dir, 'idle.json'), { bind, pidfilePath: pidfile }))
    const restartMs: number[] = []
    try {
      await server.event(server.pid, 'listening')
      for (let i = 0; i < samples; i++) {
        const old = readPid(pidfile)
        process.kill(old, 'SIGUSR1')
        const requested = await server.event(old, 'restart-requested')
        const ready = await server.event(old, 'successor-ready')
        restartMs.push(ready.time - requested.time)
        await server.event(Number(ready.successorPid), 'listening')
        await waitGone(old)
      }
      const last = readPid(pidfile)
      process.kill(last, 'SIGTERM')
      await waitGone(last)
    } finally {
      server.killAll()
    }

    const importMs: number[] = []
    for (let i = 0; i < samples; i++) importMs.push(await importTime())
    return { floorMs, successorMs, restartMs, importMs }
  } finally {
    socket.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
