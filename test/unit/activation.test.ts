import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import { tcp, unix } from '../../src/core/bind'
import { bindMatches, matchActivation, parseProcAddress, parseProcUnixLine, readActivation, type SocketAddress } from '../../src/shell/listener/activation'

describe('socket activation', () => {
  it('reads LISTEN_FDS only when LISTEN_PID is this process', () => {
    assert.deepStrictEqual(readActivation({ LISTEN_FDS: '2', LISTEN_PID: '42', LISTEN_FDNAMES: 'web:admin' }, 42), O.some({ fds: [{ fd: 3, name: 'web' }, { fd: 4, name: 'admin' }] }))
    assert.deepStrictEqual(readActivation({ LISTEN_FDS: '2', LISTEN_PID: '41' }, 42), O.none)
    assert.deepStrictEqual(readActivation({ LISTEN_FDS: 'x', LISTEN_PID: '42' }, 42), O.none)
    assert.deepStrictEqual(readActivation({}, 42), O.none)
  })

  it("parses /proc/net's addresses, IPv4 and IPv6", () => {
    assert.deepStrictEqual(parseProcAddress('0100007F:1F90'), { host: '127.0.0.1', port: 8080 })
    assert.deepStrictEqual(parseProcAddress('00000000:0050'), { host: '0.0.0.0', port: 80 })
    assert.deepStrictEqual(parseProcAddress('00000000000000000000000001000000:1F90'), { host: '::1', port: 8080 })
    assert.deepStrictEqual(parseProcAddress('00000000000000000000000000000000:0050'), { host: '::', port: 80 })
    assert.deepStrictEqual(parseProcAddress('0000000000000000FFFF00000100007F:0050'), { host: '127.0.0.1', port: 80 })
  })

  it("reads /proc/net/unix lines: the path is the rest of the line, spaces and all", () => {
    assert.deepStrictEqual(parseProcUnixLine('000000007b368a9a: 00000002 00000000 00010000 0001 01 5095839 /tmp/dir with space/s.sock'), {
      inode: '5095839',
      path: '/tmp/dir with space/s.sock',
    })
    assert.deepStrictEqual(parseProcUnixLine('0000000000000000: 00000002 00000000 00010000 0001 01   123 /run/a.sock'), { inode: '123', path: '/run/a.sock' })
    assert.deepStrictEqual(parseProcUnixLine('0000000000000000: 00000002 00000000 00010000 0001 01 77 /run/ends with a space '), { inode: '77', path: '/run/ends with a space ' })
    assert.deepStrictEqual(parseProcUnixLine('0000000000000000: 00000003 00000000 00000000 0001 03 42'), { inode: '42', path: '' }, 'an unbound socket has no path')
    assert.deepStrictEqual(parseProcUnixLine('0000000000000000: 00000002 00000000 00010000 0001 01 43 @/abstract name'), { inode: '43', path: '@/abstract name' })
    assert.equal(parseProcUnixLine(''), undefined)
    assert.equal(parseProcUnixLine('Num       RefCount Protocol Flags    Type St Inode Path'), undefined)
  })

  it('matches a bind by path, or by port and address (a host name matches any address)', () => {
    assert.ok(bindMatches(unix('/run/a.sock'), { _tag: 'Unix', path: '/run/a.sock' }))
    assert.ok(!bindMatches(unix('/run/a.sock'), { _tag: 'Unix', path: '/run/b.sock' }))
    assert.ok(bindMatches(tcp('127.0.0.1', 80), { _tag: 'Tcp', host: '127.0.0.1', port: 80 }))
    assert.ok(!bindMatches(tcp('127.0.0.1', 80), { _tag: 'Tcp', host: '127.0.0.1', port: 81 }))
    assert.ok(!bindMatches(tcp('127.0.0.1', 80), { _tag: 'Tcp', host: '0.0.0.0', port: 80 }))
    assert.ok(bindMatches(tcp('localhost', 80), { _tag: 'Tcp', host: '127.0.0.1', port: 80 }))
  })

  it('pairs every bind with a passed socket, and refuses what is left over on either side', () => {
    const addresses: Record<number, SocketAddress> = { 3: { _tag: 'Tcp', host: '0.0.0.0', port: 80 }, 4: { _tag: 'Unix', path: '/run/a.sock' } }
    const addressOf = (fd: number): SocketAddress => addresses[fd] ?? { _tag: 'Unknown' }
    const two = { fds: [{ fd: 3, name: undefined }, { fd: 4, name: 'admin' }] }
    assert.deepStrictEqual(
      matchActivation([unix('/run/a.sock'), tcp('0.0.0.0', 80)], two, addressOf),
      E.right([
        { bind: unix('/run/a.sock'), fd: 4, socketId: O.none },
        { bind: tcp('0.0.0.0', 80), fd: 3, socketId: O.none },
      ]),
    )
    const missing = matchActivation([tcp('0.0.0.0', 81)], two, addressOf)
    assert.ok(E.isLeft(missing) && missing.left._tag === 'ActivationMismatch')
    assert.match(missing.left.detail, /tcp:\/\/0\.0\.0\.0:81 is not among the sockets systemd passed \(fd 3: tcp:\/\/0\.0\.0\.0:80; fd 4 \(admin\): unix:\/\/\/run\/a\.sock\)/)
    const extra = matchActivation([tcp('0.0.0.0', 80)], two, addressOf)
    assert.ok(E.isLeft(extra) && extra.left._tag === 'ActivationMismatch')
    assert.match(extra.left.detail, /systemd passed fd 4 \(unix:\/\/\/run\/a\.sock\), which no address of bind names/)
  })
})
