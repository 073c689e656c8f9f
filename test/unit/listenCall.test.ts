/** Reading an application's listen() arguments as Node does, and the hook on net.Server (src/shell/app/listenCall.ts). */
import assert from 'node:assert/strict'
import * as http from 'node:http'
import * as net from 'node:net'
import { describe, it } from 'node:test'
import { type ListenCall, hookListen, readListenCall } from '../../src/shell/app/listenCall'

const cb = (): void => undefined

describe('readListenCall', () => {
  const rows: readonly (readonly [string, readonly unknown[], ListenCall['request'], boolean])[] = [
    ['listen()', [], { _tag: 'Tcp', port: 0, host: undefined }, false],
    ['listen(cb)', [cb], { _tag: 'Tcp', port: 0, host: undefined }, true],
    ['listen(3000)', [3000], { _tag: 'Tcp', port: 3000, host: undefined }, false],
    ["listen('3000', cb)", ['3000', cb], { _tag: 'Tcp', port: 3000, host: undefined }, true],
    ["listen(3000, '0.0.0.0', cb)", [3000, '0.0.0.0', cb], { _tag: 'Tcp', port: 3000, host: '0.0.0.0' }, true],
    ["listen(3000, '127.0.0.1', 511, cb)", [3000, '127.0.0.1', 511, cb], { _tag: 'Tcp', port: 3000, host: '127.0.0.1' }, true],
    ['listen(3000, 511)', [3000, 511], { _tag: 'Tcp', port: 3000, host: undefined }, false],
    ["listen({ port: 3000, host: 'localhost' })", [{ port: 3000, host: 'localhost' }], { _tag: 'Tcp', port: 3000, host: 'localhost' }, false],
    ["listen('/run/app.sock', cb)", ['/run/app.sock', cb], { _tag: 'Unix', path: '/run/app.sock' }, true],
    ["listen({ path: '/run/app.sock' })", [{ path: '/run/app.sock' }], { _tag: 'Unix', path: '/run/app.sock' }, false],
    ['listen({ fd: 3 })', [{ fd: 3 }], { _tag: 'Handle' }, false],
    ['listen(handle)', [{ _handle: {} }], { _tag: 'Handle' }, false],
  ]
  for (const [name, args, request, hasCallback] of rows) {
    it(name, () => {
      const call = readListenCall(args)
      assert.deepStrictEqual(call.request, request)
      assert.equal(call.callback !== undefined, hasCallback)
    })
  }
})

describe('hookListen', () => {
  it('offers every listen to the hook, an http.Server included; what it does not serve listens natively', async () => {
    const seen: ListenCall['request'][] = []
    const unhook = hookListen((_server, call) => {
      seen.push(call.request)
      if (call.request._tag === 'Tcp' && call.request.port === 1) {
        process.nextTick(() => call.callback?.())
        return 'served'
      }
      return 'native'
    })
    try {
      const served = http.createServer()
      await new Promise<void>((resolve) => served.listen(1, resolve))
      assert.equal(served.listening, false, 'served by the hook: Node did not listen')
      const native = net.createServer()
      await new Promise<void>((resolve) => native.listen(0, '127.0.0.1', resolve))
      assert.equal(native.listening, true)
      native.close()
      assert.deepStrictEqual(seen, [
        { _tag: 'Tcp', port: 1, host: undefined },
        { _tag: 'Tcp', port: 0, host: '127.0.0.1' },
      ])
    } finally {
      unhook()
    }
  })
})
