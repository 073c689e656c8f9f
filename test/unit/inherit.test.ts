import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import fc from 'fast-check'
import { tcp, unix } from '../../src/core/bind'
import { childLayout, describeInheritError, type Env, INHERIT_ENV, type Inherited, inheritEnv, readInherited } from '../../src/core/wire/inherit'
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
          slot: O.none,
          control: O.none,
          supervisorControl: false,
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
    assert.ok(E.isRight(r) && O.isSome(r.right))
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
    const inherited: fc.Arbitrary<Inherited> = fc
      .record({
        role: fc.constantFrom('successor' as const, 'worker' as const),
        generation: fc.integer({ min: 2, max: 2 ** 31 - 1 }),
        parentPid: fc.integer({ min: 1, max: 4194304 }),
        restartSignal: fc.constantFrom(...RESTART_SIGNALS),
        listeners: fc.uniqueArray(listener, { minLength: 1, maxLength: 4, selector: (l) => JSON.stringify(l.bind) }),
        pidlock: fc.boolean(),
        control: fc.constantFrom('none' as const, 'not ours' as const, 'ours' as const),
        controlId: fc.tuple(fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }), fc.bigInt({ min: 0n, max: 2n ** 64n - 1n })),
      })
      .chain((r) => fc.tuple(fc.nat({ max: 64 }), fc.boolean()).map(([slot, held]) => ({ ...r, slot: r.role === 'worker' ? O.some(slot) : O.none, supervisorControl: r.role === 'worker' && held })))
      .map(({ listeners, pidlock, control, controlId, ...rest }) => {
        const layout = childLayout(listeners.length, pidlock, control !== 'none')
        const [first, ...others] = listeners.map((l, i) => ({ ...l, fd: layout.listeners[i] ?? 0 }))
        if (first === undefined) throw new Error('minLength 1')
        const controlFd = layout.control
        return {
          ...rest,
          listeners: [first, ...others],
          channelFd: layout.channel,
          pidlockFd: layout.pidlock,
          control: O.isSome(controlFd)
            ? O.some({ fd: controlFd.value, socketId: control === 'ours' ? O.some({ dev: String(controlId[0]), ino: String(controlId[1]) }) : O.none })
            : O.none,
        }
      })
    fc.assert(fc.property(inherited, (i) => assert.deepStrictEqual(readInherited(inheritEnv(i)), E.right(O.some(i)))))
  })
})

describe('childLayout', () => {
  it('puts the listeners from fd 3, then the pidfile lock and the control socket, then the channel', () => {
    assert.deepStrictEqual(childLayout(2, true, true), { listeners: [3, 4], pidlock: O.some(5), control: O.some(6), channel: 7 })
    assert.deepStrictEqual(childLayout(1, false, true), { listeners: [3], pidlock: O.none, control: O.some(4), channel: 5 })
    assert.deepStrictEqual(childLayout(1, false, false), { listeners: [3], pidlock: O.none, control: O.none, channel: 4 })
  })
})
