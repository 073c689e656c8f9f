import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import fc from 'fast-check'
import { tcp, unix } from '../../src/core/bind'
import type { Env } from '../../src/core/codec'
import { childLayout, describeInheritError, INHERIT_ENV, type Inherited, InheritedCodec, inheritEnv, parentChannel, readInherited } from '../../src/core/wire/inherit'
import { RESTART_SIGNALS } from '../../src/core/signal'

const tcpChild = {
  role: 'successor',
  generation: 2,
  parentPid: 1234,
  restartSignal: 'SIGUSR1',
  channel: 4,
  listeners: [{ bind: 'tcp://0.0.0.0:6789', fd: 3 }],
}
const env = (value: unknown): Env => ({ [INHERIT_ENV]: typeof value === 'string' ? value : JSON.stringify(value) })

describe('readInherited', () => {
  it('is none when the variable is not set (started by hand)', () => {
    assert.deepStrictEqual(readInherited({ PATH: '/bin', PORT: '80' }), E.right(O.none))
  })

  it('reads a TCP successor', () => {
    assert.deepStrictEqual(
      readInherited(env(tcpChild)),
      E.right(
        O.some<Inherited>({
          role: 'successor',
          generation: 2,
          parentPid: 1234,
          restartSignal: 'SIGUSR1',
          channelFd: 4,
          listeners: [{ bind: tcp('0.0.0.0', 6789), fd: 3, socketId: O.none }],
          pidlockFd: O.none,
          control: O.none,
        }),
      ),
    )
  })

  it('reads several listeners with their socket identities, and the pidfile lock', () => {
    const r = readInherited(
      env({
        ...tcpChild,
        restartSignal: 'SIGHUP',
        channel: 6,
        pidlock: 5,
        listeners: [
          { bind: 'tcp://[::1]:80', fd: 3 },
          { bind: 'unix:///tmp/s.sock', fd: 4, socketId: '2049:18446744073709551615' },
        ],
      }),
    )
    assert.ok(E.isRight(r) && O.isSome(r.right) && r.right.value.role === 'successor')
    assert.deepStrictEqual(r.right.value.listeners, [
      { bind: tcp('::1', 80), fd: 3, socketId: O.none },
      { bind: unix('/tmp/s.sock'), fd: 4, socketId: O.some({ dev: '2049', ino: '18446744073709551615' }) },
    ])
    assert.deepStrictEqual(r.right.value.pidlockFd, O.some(5))
    assert.equal(r.right.value.restartSignal, 'SIGHUP')
  })

  const rejections: readonly [string, unknown, RegExp][] = [
    ['not JSON', 'listen=3', /UNINTERRUPTIBLE_INHERIT="listen=3": \(value\): is not JSON/],
    ['a missing field', { ...tcpChild, channel: undefined }, /channel: got undefined, expected a file descriptor number from 3 to 65535/],
    ['a garbage fd', { ...tcpChild, listeners: [{ bind: 'tcp://0.0.0.0:80', fd: 'three' }] }, /listeners\.0\.fd: got "three", expected a file descriptor number from 3 to 65535/],
    ['a stdio fd', { ...tcpChild, channel: 1 }, /channel: got 1, expected a file descriptor number from 3/],
    ['one fd with two meanings', { ...tcpChild, channel: 3 }, /listeners\.0\.fd: fd 3 is also channel: each fd has one meaning/],
    ['no listener', { ...tcpChild, listeners: [] }, /listeners: got \[\], expected a non-empty list/],
    ['a successor of generation 1', { ...tcpChild, generation: 1 }, /generation: a successor is generation 2 or later/],
    ['a worker without a slot', { ...tcpChild, role: 'worker' }, /slot: is missing: a worker has a slot/],
    ['a successor told of a supervisor\'s control socket', { ...tcpChild, supervisorControl: true }, /supervisorControl: only a worker has a supervisor/],
    ['a control flag that is not a boolean', { ...tcpChild, role: 'worker', slot: 0, supervisorControl: 'yes' }, /supervisorControl: got "yes", expected true or false/],
    ['a worker told of a pidfile lock', { ...tcpChild, role: 'worker', slot: 0, pidlock: 5 }, /pidlock: only a successor holds the pidfile lock/],
    ['a worker told of a control socket', { ...tcpChild, role: 'worker', slot: 0, control: { fd: 5 } }, /control: only a successor takes over the control socket/],
    ['a successor given a slot', { ...tcpChild, slot: 0 }, /slot: only a worker has a slot/],
    ['a successor told of the server\'s own stdout', { ...tcpChild, stdout: 5 }, /stdout: only a worker has its output passed on/],
    ['a worker\'s stderr on the channel\'s fd', { ...tcpChild, role: 'worker', slot: 0, stderr: 4 }, /stderr: fd 4 is also channel: each fd has one meaning/],
    ['a worker\'s stdout that is a stdio fd', { ...tcpChild, role: 'worker', slot: 0, stdout: 1 }, /stdout: got 1, expected a file descriptor number from 3/],
    ['a control socket on the channel\'s fd', { ...tcpChild, control: { fd: 4 } }, /control\.fd: fd 4 is also channel: each fd has one meaning/],
    ['several fields wrong at once', { ...tcpChild, generation: 'two', parentPid: -1 }, /generation: got "two", expected a generation number of 1 or more; parentPid: got -1, expected a process id/],
    ['an unknown role', { ...tcpChild, role: 'boss' }, /role: got "boss", expected "successor" or "worker"/],
    ['a bad bind', { ...tcpChild, listeners: [{ bind: 'localhost:80', fd: 3 }] }, /listeners\.0\.bind: "localhost:80" is not an address/],
    ['one address twice', { ...tcpChild, listeners: [{ bind: 'tcp://0.0.0.0:80', fd: 3 }, { bind: 'tcp://0.0.0.0:80', fd: 5 }] }, /listeners\.1\.bind: the address is given twice/],
    ['a malformed identity', { ...tcpChild, listeners: [{ bind: 'unix:///s', fd: 3, socketId: '12-34' }] }, /expected device:inode/],
    ['an unknown signal', { ...tcpChild, restartSignal: 'SIGKILL' }, /restartSignal: got "SIGKILL", expected one of SIGUSR1, SIGUSR2, SIGHUP/],
    ['a bad parent pid', { ...tcpChild, parentPid: 0 }, /parentPid: got 0, expected a process id/],
  ]
  for (const [name, value, message] of rejections) {
    it(`rejects ${name} with a clear message`, () => {
      const r = readInherited(env(value))
      assert.ok(E.isLeft(r), `expected a rejection, got ${JSON.stringify(r)}`)
      assert.match(describeInheritError(r.left), message)
    })
  }

  it('reads back whatever inheritEnv wrote', () => {
    const listener = fc
      .record({
        unixPath: fc.option(fc.stringMatching(/^\/[a-z0-9/._-]{1,40}[a-z0-9]$/), { nil: undefined }),
        owned: fc.boolean(),
        dev: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        ino: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        port: fc.integer({ min: 0, max: 65535 }),
      })
      .map(({ unixPath, owned, dev, ino, port }) => ({
        bind: unixPath === undefined ? tcp('127.0.0.1', port) : unix(unixPath),
        socketId: unixPath !== undefined && owned ? O.some({ dev: String(dev), ino: String(ino) }) : O.none,
      }))
    const id = fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })).map(([dev, ino]) => ({ dev: String(dev), ino: String(ino) }))
    const started = fc.record({
      generation: fc.integer({ min: 2, max: 2 ** 31 - 1 }),
      parentPid: fc.integer({ min: 1, max: 4194304 }),
      restartSignal: fc.constantFrom(...RESTART_SIGNALS),
      listeners: fc.uniqueArray(listener, { minLength: 1, maxLength: 4, selector: (l) => JSON.stringify(l.bind) }),
    })
    /** The listeners at the fds the layout gives them. */
    const placed = <L,>(listeners: readonly L[], at: readonly number[]): [L & { readonly fd: number }, ...(L & { readonly fd: number })[]] => {
      const [first, ...others] = listeners.map((l, i) => ({ ...l, fd: at[i] ?? 0 }))
      if (first === undefined) throw new Error('minLength 1')
      return [first, ...others]
    }
    const successor: fc.Arbitrary<Inherited> = fc
      .record({ started, pidlock: fc.boolean(), control: fc.constantFrom('none' as const, 'not ours' as const, 'ours' as const), controlId: id })
      .map(({ started: { listeners, ...rest }, pidlock, control, controlId }) => {
        const layout = childLayout(listeners.length, pidlock, control !== 'none')
        return {
          role: 'successor',
          ...rest,
          listeners: placed(listeners, layout.listeners),
          channelFd: layout.channel,
          pidlockFd: layout.pidlock,
          control: O.map((fd: number) => ({ fd, socketId: control === 'ours' ? O.some(controlId) : O.none }))(layout.control),
        }
      })
    const worker: fc.Arbitrary<Inherited> = fc
      .record({ started, slot: fc.nat({ max: 64 }), supervisorControl: fc.boolean(), output: fc.record({ stdout: fc.boolean(), stderr: fc.boolean() }) })
      .map(({ started: { listeners, ...rest }, slot, supervisorControl, output }) => {
        const layout = childLayout(listeners.length, false, false, output)
        return { role: 'worker', ...rest, listeners: placed(listeners, layout.listeners), channelFd: layout.channel, slot, supervisorControl, output: layout.output }
      })
    const inherited = fc.oneof(successor, worker)
    fc.assert(fc.property(inherited, (i) => assert.deepStrictEqual(readInherited(inheritEnv(i)), E.right(O.some(i)))))
    fc.assert(fc.property(inherited, (i) => assert.deepStrictEqual(InheritedCodec.decode(InheritedCodec.encode(i)), E.right(i))))
  })

  it('writes what every release has written (a parent and its child may be of different releases)', () => {
    const successor: Inherited = {
      role: 'successor',
      generation: 3,
      parentPid: 812,
      restartSignal: 'SIGUSR1',
      channelFd: 7,
      listeners: [
        { bind: unix('/run/app.sock'), fd: 3, socketId: O.some({ dev: '2049', ino: '1234' }) },
        { bind: tcp('0.0.0.0', 80), fd: 4, socketId: O.none },
      ],
      pidlockFd: O.some(5),
      control: O.some({ fd: 6, socketId: O.none }),
    }
    assert.deepStrictEqual(inheritEnv(successor), {
      [INHERIT_ENV]:
        '{"role":"successor","generation":3,"parentPid":812,"restartSignal":"SIGUSR1","channel":7,"listeners":[{"bind":"unix:///run/app.sock","fd":3,"socketId":"2049:1234"},{"bind":"tcp://0.0.0.0:80","fd":4}],"pidlock":5,"control":{"fd":6}}',
    })
    const worker: Inherited = {
      role: 'worker',
      generation: 2,
      parentPid: 700,
      restartSignal: 'SIGHUP',
      channelFd: 4,
      listeners: [{ bind: tcp('0.0.0.0', 80), fd: 3, socketId: O.none }],
      slot: 1,
      supervisorControl: true,
      output: { stdout: O.none, stderr: O.none },
    }
    assert.deepStrictEqual(inheritEnv(worker), {
      [INHERIT_ENV]: '{"role":"worker","generation":2,"parentPid":700,"restartSignal":"SIGHUP","channel":4,"listeners":[{"bind":"tcp://0.0.0.0:80","fd":3}],"slot":1,"supervisorControl":true}',
    })
    assert.deepStrictEqual(inheritEnv({ ...worker, supervisorControl: false }), {
      [INHERIT_ENV]: '{"role":"worker","generation":2,"parentPid":700,"restartSignal":"SIGHUP","channel":4,"listeners":[{"bind":"tcp://0.0.0.0:80","fd":3}],"slot":1}',
    })
    // what this release adds, only when the supervisor passes a worker's output on
    assert.deepStrictEqual(inheritEnv({ ...worker, channelFd: 6, output: { stdout: O.some(4), stderr: O.some(5) } }), {
      [INHERIT_ENV]: '{"role":"worker","generation":2,"parentPid":700,"restartSignal":"SIGHUP","channel":6,"listeners":[{"bind":"tcp://0.0.0.0:80","fd":3}],"slot":1,"supervisorControl":true,"stdout":4,"stderr":5}',
    })
  })
})

describe('parentChannel', () => {
  it('reads the channel alone, even when the rest is malformed (a failure before serve checks it is reported there)', () => {
    assert.deepStrictEqual(parentChannel(env({ ...tcpChild, listeners: 'none' })), O.some(4))
    assert.deepStrictEqual(parentChannel(env({ ...tcpChild, channel: 1 })), O.none)
    assert.deepStrictEqual(parentChannel(env('not json')), O.none)
    assert.deepStrictEqual(parentChannel({}), O.none)
  })
})

describe('childLayout', () => {
  const none = { stdout: O.none, stderr: O.none }
  it('puts the listeners from fd 3, then the pidfile lock and the control socket, then the server\'s own stdout and stderr, then the channel', () => {
    assert.deepStrictEqual(childLayout(2, true, true), { listeners: [3, 4], pidlock: O.some(5), control: O.some(6), output: none, channel: 7 })
    assert.deepStrictEqual(childLayout(1, false, true), { listeners: [3], pidlock: O.none, control: O.some(4), output: none, channel: 5 })
    assert.deepStrictEqual(childLayout(1, false, false), { listeners: [3], pidlock: O.none, control: O.none, output: none, channel: 4 })
    assert.deepStrictEqual(childLayout(2, false, false, { stdout: true, stderr: true }), { listeners: [3, 4], pidlock: O.none, control: O.none, output: { stdout: O.some(5), stderr: O.some(6) }, channel: 7 })
    assert.deepStrictEqual(childLayout(1, false, false, { stdout: false, stderr: true }), { listeners: [3], pidlock: O.none, control: O.none, output: { stdout: O.none, stderr: O.some(4) }, channel: 5 })
  })
})
