/**
 * Node's compile cache (Node 22.1+), measured where it matters: a real app's successor start-up. The
 * Express fixture (`test/fixtures/expressApp.ts`: express and the library) is spawned as a successor
 * would be (the inherited socket at fd 3, the channel at fd 4, the preload in NODE_OPTIONS), spawn to
 * ready byte, alternately without the cache and with a cache that an earlier process filled.
 */
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import * as O from 'fp-ts/Option'
import { tcp } from '../src/core/bind'
import { COMPILE_CACHE_ENV, PRELOAD_ENV, preloadOption } from '../src/core/early'
import { inheritEnv } from '../src/core/wire/inherit'
import { listenFd } from '../src/shell/os/handles'
import { DIST, tempDir, writeJson } from '../test/support/harness'
import { spawnToReady } from './handoff'

export interface CompileCacheRun {
  readonly withoutMs: readonly number[]
  readonly withMs: readonly number[]
  /** Compiled entries in the cache folder once filled. */
  readonly entries: number
}

const EXPRESS = path.join(DIST, 'test/fixtures/expressApp.js')

export const compileCache = async (samples: number): Promise<CompileCacheRun> => {
  const dir = tempDir()
  const socket = await new Promise<net.Server>((resolve) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => resolve(s))
  })
  try {
    const fd = listenFd(socket)
    if (fd._tag === 'Left') throw new Error('no listening fd')
    const config = writeJson(path.join(dir, 'app.json'), { bind: 'tcp://127.0.0.1:0', logLevel: 'warn' })
    const option = preloadOption(path.join(DIST, 'lib/preload.js'))
    const env = {
      ...process.env,
      NODE_OPTIONS: option,
      [PRELOAD_ENV]: option,
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
    const cacheDir = path.join(dir, 'cache')
    fs.mkdirSync(cacheDir, { mode: 0o700 })
    const cached = { ...env, [COMPILE_CACHE_ENV]: cacheDir }
    // fill the cache: a process that serves writes what it compiled just after it is ready
    await spawnToReady([EXPRESS, config], cached, fd.right, 500)
    const withoutMs: number[] = []
    const withMs: number[] = []
    for (let i = 0; i < samples; i++) {
      withoutMs.push(await spawnToReady([EXPRESS, config], env, fd.right))
      withMs.push(await spawnToReady([EXPRESS, config], cached, fd.right))
    }
    return { withoutMs, withMs, entries: fs.readdirSync(cacheDir, { recursive: true }).length }
  } finally {
    socket.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
}
