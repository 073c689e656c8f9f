import assert from 'node:assert/strict'
import * as fs from 'node:fs'
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

describe('spawnChild: output given to this process (ChildSpec.output)', () => {
  it("reads a child's stdout and stderr through sockets of their own, whole lines in order, the last one given its newline, before outputEnded", async () => {
    const got = { stdout: [] as string[], stderr: [] as string[] }
    // 3,000 lines written in pieces that cut lines, a line of 100,000 bytes, and a last line without a newline
    const script = `
      const fs = require('fs')
      let text = ''
      for (let i = 0; i < 3000; i++) text += 'line ' + i + '\\n'
      for (let at = 0; at < text.length; at += 777) fs.writeSync(1, text.slice(at, at + 777))
      fs.writeSync(2, 'x'.repeat(100000) + '\\n')
      fs.writeSync(1, 'last, without a newline')
      fs.writeSync(2, 'Ω on stderr\\n')`
    const child = spawnChild(
      { command: { file: process.execPath, args: ['-e', script], cwd: process.cwd() }, env: process.env, pass: [], readyTimeoutMs: 30_000, output: { stdout: (l) => got.stdout.push(Buffer.from(l).toString()), stderr: (l) => got.stderr.push(Buffer.from(l).toString()) } },
      { ready: () => undefined, failed: () => undefined, exited: () => undefined },
    )
    await child.outputEnded
    assert.equal(got.stdout.length, 3001)
    assert.ok(got.stdout.slice(0, 3000).every((l, i) => l === `line ${i}\n`), 'every line whole, in order')
    assert.equal(got.stdout[3000], 'last, without a newline\n')
    assert.deepStrictEqual(got.stderr, [`${'x'.repeat(65_536)}\n`, `${'x'.repeat(100_000 - 65_536)}\n`, 'Ω on stderr\n'], 'a line past 64 KiB comes in pieces of 64 KiB')
  })

  it('without it, the child writes to the stdout and stderr of this process itself', async () => {
    let child: ReturnType<typeof spawnChild> | undefined
    const failure = await new Promise<SuccessorFailure>((resolve) => {
      // the child checks that its fds 1 and 2 are what this process's are, and exits (before any ready: a failure, code 0)
      child = spawnChild(
        { command: { file: '/bin/sh', args: ['-c', 'test "$(readlink /proc/$$/fd/1)" = "$0" && test "$(readlink /proc/$$/fd/2)" = "$1"', fs.readlinkSync('/proc/self/fd/1'), fs.readlinkSync('/proc/self/fd/2')], cwd: process.cwd() }, env: process.env, pass: [], readyTimeoutMs: 30_000 },
        { ready: () => undefined, failed: (_pid, f) => resolve(f), exited: () => undefined },
      )
    })
    await child?.outputEnded
    assert.deepStrictEqual(failure, { _tag: 'Exited', code: 0, signal: null, reason: null })
  })
})
