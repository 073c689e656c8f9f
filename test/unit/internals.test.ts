/**
 * The Node internals the library reaches into (src/shell/os/handles.ts, docs/ARCHITECTURE.md "Node internals"), checked on the Node
 * this runs on: CI runs it on every supported version, so a version that moves one fails here, by name.
 * Also: no Node version the library supports warns about anything it does (see nodeVersions.test.ts).
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'
import * as tls from 'node:tls'
import * as E from 'fp-ts/Either'
import { adoptFd, bindPipe, bindTcpHandle, builtinLoaded, listenFd, plainSocketOf } from '../../src/shell/os/handles'
import { type Certs, makeCerts, opensslMissing } from '../support/certs'

const listening = (): Promise<net.Server> =>
  new Promise((resolve) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => resolve(s))
  })

describe(`Node internals on ${process.version}`, () => {
  it("server._handle.fd: a listening server's file descriptor", async () => {
    const server = await listening()
    try {
      const fd = listenFd(server)
      assert.ok(E.isRight(fd), 'no fd on the handle')
      assert.ok(fs.readlinkSync(`/proc/self/fd/${fd.right}`).startsWith('socket:'), 'the fd is not a socket')
    } finally {
      server.close()
    }
  })

  it('net._createServerHandle: a TCP socket bound, not listening, that a server can then listen on', async () => {
    const handle = bindTcpHandle('127.0.0.1', 0)
    assert.ok(E.isRight(handle), E.isLeft(handle) ? handle.left.message : '')
    const bound = handle.right.tcpAddress()
    assert.ok(E.isRight(bound) && bound.right.port > 0, 'bound to a port')
    const address = bound.right
    // nobody accepts yet: a connect is refused (not listening)
    const refused = await new Promise<boolean>((resolve) => net.connect(address.port, '127.0.0.1').once('connect', () => resolve(false)).once('error', () => resolve(true)))
    assert.ok(refused)
    const server = net.createServer((c) => c.end('hi'))
    await new Promise<void>((resolve) => server.listen({ fd: handle.right.fd }, resolve))
    const reply = await new Promise<string>((resolve) => {
      const c = net.connect(address.port, '127.0.0.1')
      let got = ''
      c.on('data', (d: Buffer) => (got += d.toString())).once('close', () => resolve(got))
    })
    assert.equal(reply, 'hi')
    server.close()
    handle.right.close()
  })

  it('net._createServerHandle: a UNIX socket bound at a path and in the abstract namespace; adopting an fd', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uni-internals-'))
    try {
      const file = bindPipe(path.join(dir, 's.sock'))
      assert.ok(E.isRight(file), E.isLeft(file) ? file.left.message : '')
      assert.ok(fs.lstatSync(path.join(dir, 's.sock')).isSocket())
      const abstract = bindPipe(`\0uni-internals-${process.pid}`)
      assert.ok(E.isRight(abstract))
      const twice = bindPipe(`\0uni-internals-${process.pid}`)
      assert.ok(E.isLeft(twice) && twice.left.code === 'EADDRINUSE', 'a second bind of the same abstract name is refused')
      const adopted = adoptFd(file.right.fd)
      assert.ok(E.isRight(adopted))
      abstract.right.close()
      file.right.close()
    } finally {
      fs.rmSync(dir, { recursive: true, force: true })
    }
  })

  describe('tlsSocket._parent: the plain socket under a TLS socket', { skip: opensslMissing() }, () => {
    let certs: Certs
    before(() => {
      certs = makeCerts(fs.mkdtempSync(path.join(os.tmpdir(), 'uni-internals-certs-')))
    })
    after(() => fs.rmSync(certs.dir, { recursive: true, force: true }))

    it('is the accepted net.Socket', async () => {
      const plain = await new Promise<{ parent: net.Socket | undefined; accepted: net.Socket }>((resolve) => {
        const server = net.createServer((socket) => {
          const secure = new tls.TLSSocket(socket, { isServer: true, cert: fs.readFileSync(certs.server.cert), key: fs.readFileSync(certs.server.key) })
          resolve({ parent: plainSocketOf(secure), accepted: socket })
          secure.destroy()
          server.close()
        })
        server.listen(0, '127.0.0.1', () => {
          const a = server.address() as net.AddressInfo
          tls.connect({ port: a.port, host: '127.0.0.1', rejectUnauthorized: false }).on('error', () => undefined)
        })
      })
      assert.equal(plain.parent, plain.accepted)
    })
  })

  it('process.moduleLoadList: says which built-in modules are loaded', () => {
    assert.equal(builtinLoaded('net'), true)
    assert.equal(builtinLoaded('no-such-module'), false)
  })
})
