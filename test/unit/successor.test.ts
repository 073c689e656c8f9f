import assert from 'node:assert/strict'
import * as net from 'node:net'
import { describe, it } from 'node:test'
import type { Event } from '../../src/core/lifecycle'
import { spawnSuccessor } from '../../src/shell/os/successor'

/** A real listening socket to pass down, and the one event a successor reports. */
const run = async (file: string, args: readonly string[], readyTimeoutMs = 30_000): Promise<Event> => {
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd
  try {
    let kill = (): void => undefined
    const event = await new Promise<Event>((resolve) => {
      kill = spawnSuccessor({ attempt: 7, command: { file, args, cwd: process.cwd() }, env: process.env, listenFd: fd, readyTimeoutMs }, resolve).kill
    })
    kill() // what the lifecycle does after a failure; leaves nothing running
    return event
  } finally {
    server.close()
  }
}

describe('spawnSuccessor', () => {
  it('reports ready when a byte arrives on fd 4', async () => {
    const e = await run(process.execPath, ['-e', "require('fs').writeSync(4, 'R'); setInterval(() => {}, 1000)"])
    assert.deepStrictEqual(e._tag === 'SuccessorReady' ? e.attempt : e, 7)
  })

  it('reports a binary that cannot be spawned', async () => {
    const e = await run('/nonexistent/binary', [])
    assert.deepStrictEqual(e, { _tag: 'SuccessorFailed', attempt: 7, pid: null, failure: { _tag: 'SpawnFailed', message: 'spawn /nonexistent/binary ENOENT' } })
  })

  it('reports an exit before ready with its code', async () => {
    const e = await run('/bin/sh', ['-c', 'exit 3'])
    assert.ok(e._tag === 'SuccessorFailed')
    assert.deepStrictEqual(e.failure, { _tag: 'Exited', code: 3, signal: null })
  })

  it('reports a timeout when nothing arrives', async () => {
    const e = await run('/bin/sh', ['-c', 'exec sleep 30'], 200)
    assert.ok(e._tag === 'SuccessorFailed')
    assert.deepStrictEqual(e.failure, { _tag: 'TimedOut', afterMs: 200 })
  })
})
