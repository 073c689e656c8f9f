/**
 * The control server and client in this process, over a UNIX socket in a temp folder: no server
 * process, a handler and a peer written for each test.
 */
import assert from 'node:assert/strict'
import * as net from 'node:net'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import type { RestartOutcome } from '../../src/core/outcome'
import { decodeRequest, encodeReply, type Request, type Status } from '../../src/core/wire/control'
import { ask } from '../../src/shell/control/client'
import { restartServerTask, serverStatusTask, stopServerTask } from '../../src/shell/control/operations'
import { type ControlHandler, type ControlServer, MAX_IN_FLIGHT, MAX_LINE_BYTES, serveControl } from '../../src/shell/control/server'
import { ControlConnection } from '../support/controlClient'
import { memoryLog } from '../support/fakes'
import { withDir } from '../support/harness'

const STATUS: Status = { pid: 42, mode: 'standalone', generation: 2, state: 'Listening', connections: { active: 1, accepted: 9 }, uptimeMs: 1234, lastRestart: null }

const listening = (socketPath: string): Promise<net.Server> =>
  new Promise((resolve) => {
    const server = net.createServer()
    server.listen(socketPath, () => resolve(server))
  })

const closing = (server: net.Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()))

/** The real control server over a fake handler: the restarts it was asked for (by number) are kept. */
const withControl = async (handler: Partial<ControlHandler>, test: (c: { readonly path: string; readonly control: ControlServer; readonly restarts: number[]; readonly lines: ReturnType<typeof memoryLog>['lines'] }) => Promise<void>): Promise<void> =>
  withDir(async (dir) => {
    const socketPath = path.join(dir, 'control.sock')
    const server = await listening(socketPath)
    const restarts: number[] = []
    const { log, lines } = memoryLog()
    const control = serveControl(
      server,
      {
        restart: (n) => restarts.push(n),
        status: () => Promise.resolve(STATUS),
        stop: () => E.right([42]),
        ...handler,
      },
      log,
    )
    try {
      await test({ path: socketPath, control, restarts, lines })
    } finally {
      control.destroyAll()
      await closing(server)
    }
  })

/** A peer that answers each request line as `answer` says (lines to write, then whether to close). */
const withPeer = async (answer: (line: string) => { readonly write: readonly string[]; readonly end?: boolean }, test: (socketPath: string) => Promise<void>): Promise<void> =>
  withDir(async (dir) => {
    const socketPath = path.join(dir, 'peer.sock')
    const open = new Set<net.Socket>()
    const server = net.createServer((socket) => {
      open.add(socket)
      socket.setEncoding('utf8')
      let buffered = ''
      socket.on('error', () => undefined)
      socket.on('data', (chunk: string) => {
        buffered += chunk
        for (let nl = buffered.indexOf('\n'); nl >= 0; nl = buffered.indexOf('\n')) {
          const { write, end } = answer(buffered.slice(0, nl))
          buffered = buffered.slice(nl + 1)
          for (const w of write) socket.write(w)
          if (end === true) socket.end()
        }
      })
    })
    await new Promise<void>((resolve) => server.listen(socketPath, resolve))
    try {
      await test(socketPath)
    } finally {
      for (const s of open) s.destroy()
      await closing(server)
    }
  })

const restarted: RestartOutcome = { _tag: 'Restarted', generation: 3, pids: [812] }

describe('the control server', () => {
  it('answers a status with the request\'s id, and logs the request', () =>
    withControl({}, async ({ path: p, lines }) => {
      const c = await ControlConnection.open(p)
      assert.deepStrictEqual(await c.ask('status', 's-1'), { id: 's-1', ok: true, status: STATUS })
      c.close()
      assert.ok(lines.some((l) => l.fields.event === 'control-request' && l.fields.op === 'status' && l.fields.id === 's-1'))
    }))

  it('answers each restart once its outcome is known, with its own id, whatever order the outcomes come in', () =>
    withControl({}, async ({ path: p, control, restarts }) => {
      const a = await ControlConnection.open(p)
      const b = await ControlConnection.open(p)
      a.socket.write('{"id":"first","op":"restart"}\n')
      b.socket.write('{"id":5,"op":"restart"}\n')
      while (restarts.length < 2) await new Promise((r) => setImmediate(r))
      // the lifecycle knows them by the server's numbers, not by the callers' ids
      assert.deepStrictEqual(restarts, [1, 2])
      control.answer([2], restarted)
      assert.deepStrictEqual(await b.next(), { id: 5, ok: true, outcome: { result: 'restarted', generation: 3, pids: [812] } })
      control.answer([1], { _tag: 'RestartFailed', generation: 3, reason: 'it exited', failure: { _tag: 'Exited', code: 3, signal: null, reason: null }, stopping: false })
      assert.deepStrictEqual(await a.next(), {
        id: 'first',
        ok: false,
        outcome: { result: 'failed', generation: 3, reason: 'it exited', failure: { failure: 'exited', exitCode: 3, signal: null }, stopping: false },
      })
      // a second answer to the same request is not sent
      control.answer([1, 2], restarted)
      a.socket.write('{"id":"after","op":"status"}\n')
      assert.equal((await a.next())?.id, 'after')
      a.close()
      b.close()
    }))

  it('answers a restart refused while it is being asked (the refusal comes back at once)', async () => {
    let control: ControlServer | undefined
    await withControl({ restart: (n) => control?.answer([n], { _tag: 'RestartRefused', reason: 'this process is PID 1' }) }, async (c) => {
      control = c.control
      const conn = await ControlConnection.open(c.path)
      assert.deepStrictEqual(await conn.ask('restart', 1), { id: 1, ok: false, outcome: { result: 'refused', reason: 'this process is PID 1' } })
      conn.close()
    })
  })

  it('says what is wrong with a malformed request, with its id when it has one, and goes on', () =>
    withControl({}, async ({ path: p, lines }) => {
      const c = await ControlConnection.open(p)
      c.socket.write('not json\n{"op":"explode","id":7}\n["status"]\n{"op":"status","id":"x"}\n')
      assert.deepStrictEqual(await c.next(), { id: null, ok: false, error: { code: 'bad-request', message: 'a request is one JSON object per line, such as {"op":"status"}' } })
      assert.deepStrictEqual(await c.next(), { id: 7, ok: false, error: { code: 'bad-request', message: 'unknown op "explode": expected one of restart, status, stop' } })
      assert.deepStrictEqual(await c.next(), { id: null, ok: false, error: { code: 'bad-request', message: 'a request is a JSON object, such as {"op":"status"}' } })
      assert.deepStrictEqual(await c.next(), { id: 'x', ok: true, status: STATUS })
      c.close()
      assert.equal(lines.filter((l) => l.fields.event === 'control-bad-request').length, 3)
    }))

  it('says busy when a stop is refused, and internal when a status fails', () =>
    withControl({ stop: () => E.left('a restart is in progress (attempt 1); ask again once it is over'), status: () => Promise.reject(new Error('no state')) }, async ({ path: p }) => {
      const c = await ControlConnection.open(p)
      assert.deepStrictEqual(await c.ask('stop', 1), { id: 1, ok: false, error: { code: 'busy', message: 'a restart is in progress (attempt 1); ask again once it is over' } })
      assert.deepStrictEqual(await c.ask('status', 2), { id: 2, ok: false, error: { code: 'internal', message: 'no state' } })
      c.close()
    }))

  it(`closes a connection with ${MAX_IN_FLIGHT} requests waiting for their replies that sends one more, saying why`, () =>
    withControl({ status: () => new Promise<Status>(() => undefined) }, async ({ path: p, lines }) => {
      const c = await ControlConnection.open(p)
      c.socket.write(Array.from({ length: MAX_IN_FLIGHT + 1 }, (_, i) => `{"id":${i},"op":"status"}\n`).join(''))
      const reply = await c.next()
      assert.ok(reply !== null)
      assert.equal(reply.id, null)
      assert.deepStrictEqual(reply.error, { code: 'limit', message: `at most ${MAX_IN_FLIGHT} requests may wait for their replies on one connection: read the replies before sending more` })
      await c.closed
      assert.ok(lines.some((l) => l.fields.event === 'control-closed' && l.fields.reason === 'too-many-requests'))
    }))

  it('closes a connection whose line is too long, saying why', () =>
    withControl({}, async ({ path: p }) => {
      const c = await ControlConnection.open(p)
      c.socket.write(`{"op":"status","id":"${'x'.repeat(MAX_LINE_BYTES)}"}\n`)
      assert.deepStrictEqual(await c.next(), { id: null, ok: false, error: { code: 'bad-request', message: `a request line may be ${MAX_LINE_BYTES} bytes at most` } })
      await c.closed
    }))

  it('ends every conversation on destroyAll: a restart still waiting gets no reply, and a late outcome is not sent', () =>
    withControl({}, async ({ path: p, control, restarts }) => {
      const c = await ControlConnection.open(p)
      c.socket.write('{"id":1,"op":"restart"}\n')
      while (restarts.length < 1) await new Promise((r) => setImmediate(r))
      control.destroyAll()
      assert.equal(await c.next(), null)
      control.answer([1], restarted)
    }))
})

describe('the control client', () => {
  it('sends one request with an id, and takes the reply with that id (a reply for another id is not it)', () =>
    withPeer(
      (line) => {
        const request = decodeRequest(line)
        assert.ok(E.isRight(request) && typeof request.right.id === 'number' && request.right.op === 'status', line)
        const { id } = request.right
        return {
          write: [
            `${JSON.stringify({ id: id + 1, ok: true, status: { ...STATUS, pid: 1 } })}\n`,
            `${JSON.stringify({ id: 'someone else', ok: true, status: { ...STATUS, pid: 2 } })}\n`,
            `${JSON.stringify({ id, ok: true, status: STATUS })}\n`,
          ],
        }
      },
      async (p) => assert.deepStrictEqual(await serverStatusTask({ controlPath: p })(), E.right(STATUS)),
    ))

  it('takes an error reply without an id (the server could not read the request) as the answer', () =>
    withPeer(
      () => ({ write: ['{"id":null,"ok":false,"error":{"code":"limit","message":"64 control connections are open"}}\n'], end: true }),
      async (p) => assert.deepStrictEqual(await serverStatusTask({ controlPath: p })(), E.left({ _tag: 'NoReply', path: p, reason: '64 control connections are open' })),
    ))

  it('gives up after its timeout', () =>
    withPeer(
      () => ({ write: [] }),
      async (p) => assert.deepStrictEqual(await serverStatusTask({ controlPath: p }, { timeoutMs: 50 })(), E.left({ _tag: 'NoReply', path: p, reason: 'no reply within 50 ms' })),
    ))

  it('says so when the server closes without a reply', () =>
    withPeer(
      () => ({ write: [], end: true }),
      async (p) => assert.deepStrictEqual(await serverStatusTask({ controlPath: p })(), E.left({ _tag: 'NoReply', path: p, reason: 'the server closed the connection without a reply' })),
    ))

  it('says when no server answers (no socket file)', () =>
    withDir(async (dir) => {
      const p = path.join(dir, 'nobody.sock')
      assert.deepStrictEqual(await ask(p, 'status', 1000)(), E.left({ _tag: 'NoServer', path: p, reason: 'the socket file does not exist (is the server running, with this controlPath?)' }))
    }))

  for (const [name, line] of [
    ['not JSON', 'hello'],
    ['a status missing its fields', '{"id":1,"ok":true,"status":{"pid":1}}'],
    ['an ok that is not a boolean', '{"id":1,"ok":"yes","stopping":{"pids":[]}}'],
  ] as const) {
    it(`refuses a reply that is not one: ${name}`, () =>
      withPeer(
        () => ({ write: [`${line}\n`] }),
        async (p) => assert.deepStrictEqual(await serverStatusTask({ controlPath: p })(), E.left({ _tag: 'BadReply', path: p, line })),
      ))
  }

  it('restart: the outcome, the server\'s error as the reason, and a reply of another kind as a bad reply', async () => {
    const outcome = { result: 'refused', reason: 'a restart is in progress' } as const
    await withPeer(
      (line) => ({ write: [encodeReply({ _tag: 'Outcome', id: E.match(() => null, (r: Request) => r.id)(decodeRequest(line)), outcome })] }),
      async (p) => assert.deepStrictEqual(await restartServerTask({ controlPath: p })(), E.right(outcome)),
    )
    await withPeer(
      () => ({ write: ['{"id":1,"ok":false,"error":{"code":"bad-request","message":"unknown op"}}\n'] }),
      async (p) => assert.deepStrictEqual(await restartServerTask({ controlPath: p })(), E.left({ _tag: 'NoReply', path: p, reason: 'unknown op' })),
    )
    await withPeer(
      () => ({ write: ['{"id":1,"ok":true,"stopping":{"pids":[1]}}\n'] }),
      async (p) => assert.deepStrictEqual(await restartServerTask({ controlPath: p })(), E.left({ _tag: 'BadReply', path: p, line: '{"id":1,"ok":true,"stopping":{"pids":[1]}}' })),
    )
  })

  it('stop: settles once the server has closed and the processes it named are gone', () =>
    withPeer(
      // no process can have a pid past the kernel's largest
      () => ({ write: ['{"id":1,"ok":true,"stopping":{"pids":[4194305]}}\n'], end: true }),
      async (p) => assert.deepStrictEqual(await stopServerTask({ controlPath: p })(), E.right({ pids: [4194305] })),
    ))

  it('talks to the real server: a status, and a restart answered later', () =>
    withControl({}, async ({ path: p, control, restarts }) => {
      assert.deepStrictEqual(await serverStatusTask({ controlPath: p })(), E.right(STATUS))
      const restart = restartServerTask({ controlPath: p })()
      while (restarts.length < 1) await new Promise((r) => setImmediate(r))
      control.answer(restarts, restarted)
      assert.deepStrictEqual(await restart, E.right({ result: 'restarted', generation: 3, pids: [812] }))
    }))
})
