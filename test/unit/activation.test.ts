import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import { tcp, unix } from '../../src/core/bind'
import { bindMatches, matchActivation, parseProcAddress, readActivation, type SocketAddress } from '../../src/shell/listener/activation'

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
