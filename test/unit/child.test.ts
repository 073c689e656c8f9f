import assert from 'node:assert/strict'
import * as net from 'node:net'
import { describe, it } from 'node:test'
import type { SuccessorFailure } from '../../src/core/lifecycle'
import type { ChildEvents } from '../../src/shell/os/child'
import { spawnChild } from '../../src/shell/os/spawn'

type Outcome = { readonly _tag: 'Ready'; readonly pid: number } | { readonly _tag: 'Failed'; readonly pid: number | null; readonly failure: SuccessorFailure }

/** A real listening socket to pass down (it is fd 3 in the child, the channel fd 4), and the one outcome reported. */
const run = async (file: string, args: readonly string[], readyTimeoutMs = 30_000, malformed?: ChildEvents['malformed']): Promise<Outcome> => {
  const server = net.createServer()
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  const fd = (server as unknown as { _handle: { fd: number } })._handle.fd
  try {
    let kill = (): void => undefined
    const outcome = await new Promise<Outcome>((resolve) => {
      kill = spawnChild(
        { command: { file, args, cwd: process.cwd() }, env: process.env, pass: [fd], readyTimeoutMs },
        { ready: (pid) => resolve({ _tag: 'Ready', pid }), failed: (pid, failure) => resolve({ _tag: 'Failed', pid, failure }), exited: () => undefined, ...(malformed !== undefined ? { malformed } : {}) },
      ).kill
    })
    kill() // what the lifecycle does after a failure; leaves nothing running
    return outcome
  } finally {
    server.close()
  }
}

describe('spawnChild', () => {
  it('reports ready when the ready line arrives on the channel (fd 4, after the passed socket)', async () => {
    const e = await run(process.execPath, ['-e', 'require(\'fs\').writeSync(4, \'{"type":"ready"}\\n\'); setInterval(() => {}, 1000)'])
    assert.equal(e._tag, 'Ready')
  })

  it('says what is wrong with a line on the channel that is not a message, and reads on', async () => {
    const seen: { readonly line: string; readonly keys: readonly string[] }[] = []
    const e = await run(process.execPath, ['-e', 'require(\'fs\').writeSync(4, \'ready\\n{"type":"failed"}\\n{"type":"ready"}\\n\'); setInterval(() => {}, 1000)'], 30_000, (line, problems) =>
      seen.push({ line, keys: problems.map((p) => p.key) }),
    )
    assert.equal(e._tag, 'Ready')
    assert.deepStrictEqual(seen, [
      { line: 'ready', keys: ['(value)'] },
      { line: '{"type":"failed"}', keys: ['reason'] },
    ])
  })

  it('reports a binary that cannot be spawned', async () => {
    const e = await run('/nonexistent/binary', [])
    assert.deepStrictEqual(e, { _tag: 'Failed', pid: null, failure: { _tag: 'SpawnFailed', message: 'spawn /nonexistent/binary ENOENT' } })
  })

  it('reports an exit before ready with its code', async () => {
    const e = await run('/bin/sh', ['-c', 'exit 3'])
    assert.ok(e._tag === 'Failed')
    assert.deepStrictEqual(e.failure, { _tag: 'Exited', code: 3, signal: null, reason: null })
  })

  it('reports the reason a child gives on the channel before it exits', async () => {
    const e = await run('/bin/sh', ['-c', 'echo \'{"type":"failed","reason":"the config is broken"}\' >&4; exit 1'])
    assert.ok(e._tag === 'Failed')
    assert.deepStrictEqual(e.failure, { _tag: 'Exited', code: 1, signal: null, reason: 'the config is broken' })
  })

  it('reports a timeout when nothing arrives', async () => {
    const e = await run('/bin/sh', ['-c', 'exec sleep 30'], 200)
    assert.ok(e._tag === 'Failed')
    assert.deepStrictEqual(e.failure, { _tag: 'TimedOut', afterMs: 200, reason: null })
  })
})
