import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import fc from 'fast-check'
import { tcp, unix } from '../../src/core/bind'
import { describeInheritError, ENV, type Env, type Inherited, inheritEnv, readInherited } from '../../src/core/inherit'
import { RESTART_SIGNALS } from '../../src/core/signal'

const tcpChild: Env = {
  [ENV.listenFd]: '3',
  [ENV.readyFd]: '4',
  [ENV.generation]: '2',
  [ENV.bind]: 'tcp://0.0.0.0:6789',
  [ENV.parentPid]: '1234',
}

describe('readInherited', () => {
  it('is none when no variable is set (started by hand)', () => {
    assert.deepStrictEqual(readInherited({ PATH: '/bin', PORT: '80' }), E.right(O.none))
  })

  it('reads a TCP successor environment', () => {
    assert.deepStrictEqual(
      readInherited(tcpChild),
      E.right(
        O.some<Inherited>({
          listenFd: 3,
          readyFd: 4,
          generation: 2,
          bind: tcp('0.0.0.0', 6789),
          socketId: O.none,
          parentPid: 1234,
          restartSignal: 'SIGUSR1',
        }),
      ),
    )
  })

  it('reads a UNIX successor environment with its socket identity', () => {
    const env = { ...tcpChild, [ENV.bind]: 'unix:///tmp/s.sock', [ENV.socketId]: '2049:18446744073709551615', [ENV.restartSignal]: 'SIGHUP' }
    const r = readInherited(env)
    assert.ok(E.isRight(r) && O.isSome(r.right))
    assert.deepStrictEqual(r.right.value.bind, unix('/tmp/s.sock'))
    assert.deepStrictEqual(r.right.value.socketId, O.some({ dev: '2049', ino: '18446744073709551615' }))
    assert.equal(r.right.value.restartSignal, 'SIGHUP')
  })

  const rejections: readonly [string, Env, RegExp][] = [
    ['a partial environment', { [ENV.listenFd]: '3' }, /UNINTERRUPTIBLE_READY_FD is missing while UNINTERRUPTIBLE_LISTEN_FD is set/],
    ['a garbage fd', { ...tcpChild, [ENV.listenFd]: 'three' }, /UNINTERRUPTIBLE_LISTEN_FD="three", expected a file descriptor number from 3 to 65535/],
    ['a stdio fd', { ...tcpChild, [ENV.listenFd]: '1' }, /expected a file descriptor number from 3/],
    ['a negative fd', { ...tcpChild, [ENV.readyFd]: '-4' }, /UNINTERRUPTIBLE_READY_FD="-4"/],
    ['equal fds', { ...tcpChild, [ENV.readyFd]: '3' }, /both 3; they must differ/],
    ['generation 1', { ...tcpChild, [ENV.generation]: '1' }, /expected a generation number of 2 or more/],
    ['a bad bind', { ...tcpChild, [ENV.bind]: 'localhost:80' }, /UNINTERRUPTIBLE_BIND="localhost:80", expected a bind address/],
    ['a UNIX bind without identity', { ...tcpChild, [ENV.bind]: 'unix:///tmp/s.sock' }, /UNINTERRUPTIBLE_SOCKET_ID is missing/],
    ['a malformed identity', { ...tcpChild, [ENV.socketId]: '12-34' }, /expected device:inode/],
    ['an unknown signal', { ...tcpChild, [ENV.restartSignal]: 'SIGKILL' }, /expected SIGUSR1, SIGUSR2 or SIGHUP/],
    ['a bad parent pid', { ...tcpChild, [ENV.parentPid]: '0' }, /expected a process id/],
  ]
  for (const [name, env, message] of rejections) {
    it(`rejects ${name} with a clear message`, () => {
      const r = readInherited(env)
      assert.ok(E.isLeft(r), `expected a rejection, got ${JSON.stringify(r)}`)
      assert.match(describeInheritError(r.left), message)
    })
  }

  it('reads back whatever inheritEnv wrote', () => {
    const inherited: fc.Arbitrary<Inherited> = fc
      .record({
        listenFd: fc.integer({ min: 3, max: 65535 }),
        readyFd: fc.integer({ min: 3, max: 65535 }),
        generation: fc.integer({ min: 2, max: 2 ** 31 - 1 }),
        parentPid: fc.integer({ min: 1, max: 4194304 }),
        restartSignal: fc.constantFrom(...RESTART_SIGNALS),
        unixPath: fc.option(fc.stringMatching(/^\/[a-z0-9/._-]{1,40}[a-z0-9]$/), { nil: undefined }),
        dev: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        ino: fc.bigInt({ min: 0n, max: 2n ** 64n - 1n }),
        port: fc.integer({ min: 0, max: 65535 }),
      })
      .filter((r) => r.listenFd !== r.readyFd)
      .map(({ unixPath, dev, ino, port, ...rest }) => ({
        ...rest,
        bind: unixPath === undefined ? tcp('127.0.0.1', port) : unix(unixPath),
        socketId: unixPath === undefined ? O.none : O.some({ dev: String(dev), ino: String(ino) }),
      }))
    fc.assert(fc.property(inherited, (i) => assert.deepStrictEqual(readInherited(inheritEnv(i)), E.right(O.some(i)))))
  })
})
