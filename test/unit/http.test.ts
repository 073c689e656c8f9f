import assert from 'node:assert/strict'
import * as http from 'node:http'
import * as https from 'node:https'
import * as net from 'node:net'
import { describe, it } from 'node:test'
import express from 'express'
import * as E from 'fp-ts/Either'
import { describeServeError, serveHttpTask } from '../../src/index'
import { type HttpApp, type HttpTarget, httpProtocol, toServer } from '../../src/shell/protocol/http'
import { memoryLog } from '../support/fakes'

describe('serveHttpTask', () => {
  it('refuses an https.Server with a message saying what it takes, before reading any config', async () => {
    const r = await serveHttpTask('/nonexistent/config.json', https.createServer())()
    assert.ok(E.isLeft(r))
    assert.equal(r.left._tag, 'UnsupportedServer')
    assert.match(describeServeError(r.left), /serveHttp was given an https.Server, which it cannot serve: .* give it the request listener or a plain http.Server/)
  })
})

/** The response the protocol notes on a socket (src/shell/protocol/http.ts, CURRENT), read by its symbol's name. */
const noted = (socket: net.Socket): unknown => {
  const key = Object.getOwnPropertySymbols(socket).find((s) => s.description === 'uninterruptible.http.current')
  return key === undefined ? undefined : Reflect.get(socket, key)
}

/** A kept-alive request through httpProtocol fed by a net.Server, as serveHttp runs it. */
const keptAliveRequest = async (target: HttpTarget, finished: Promise<void>): Promise<net.Socket> => {
  const protocol = httpProtocol(target, 1000)(memoryLog().log)
  let serverSide: net.Socket | undefined
  const listener = net.createServer(protocol.serverOptions, (socket) => {
    serverSide = socket
    protocol.accept(socket, 1)
  })
  await new Promise<void>((resolve) => listener.listen(0, '127.0.0.1', resolve))
  const address = listener.address()
  const port = typeof address === 'object' && address !== null ? address.port : 0
  const agent = new http.Agent({ keepAlive: true })
  try {
    const body = await new Promise<string>((resolve, reject) => {
      http
        .get({ host: '127.0.0.1', port, path: '/', agent }, (res) => {
          let text = ''
          res.setEncoding('utf8')
          res.on('data', (c: string) => (text += c))
          res.on('end', () => resolve(text))
        })
        .on('error', reject)
    })
    assert.equal(body, 'ok')
    await finished
    assert.ok(serverSide !== undefined && !serverSide.destroyed, 'the connection is kept alive')
    return serverSide
  } finally {
    agent.destroy()
    listener.close()
  }
}

/** An application listener that answers `ok` and says what was noted on its socket while it ran; `finished` once the response has finished (and what runs on 'finish' has run). */
const answering = (): { listener: http.RequestListener; noted: () => unknown; finished: Promise<void> } => {
  let seen: unknown
  let done = (): void => undefined
  const finished = new Promise<void>((resolve) => (done = resolve))
  return {
    listener: (req, res) => {
      seen = noted(req.socket)
      res.once('finish', () => setImmediate(done))
      res.end('ok')
    },
    noted: () => seen,
    finished,
  }
}

/** The three kinds of application serveHttp meets, each given the listener to run. */
const applications: readonly (readonly [string, (listener: http.RequestListener) => HttpApp])[] = [
  ['is noted on its socket while it runs, and no longer once it has finished, for a server the library makes', (listener) => listener],
  [
    'is taken off its socket for an Express app too, which gives each response a prototype of its own',
    (listener) => {
      const expressApp = express()
      expressApp.get('/', (req, res) => {
        assert.notEqual(Object.getPrototypeOf(res), http.ServerResponse.prototype)
        listener(req, res)
      })
      return expressApp
    },
  ],
  ["is noted on its socket while it runs, and no longer once it has finished, for the application's own http.Server", (listener) => http.createServer(listener)],
]

describe('httpProtocol: a finished response', () => {
  // a response left on a kept-alive socket lives until the next request and survives young collections,
  // which made every later request cost more (docs/ARCHITECTURE.md, "The cost of a request")
  for (const [name, application] of applications) {
    it(name, async () => {
      const app = answering()
      const target = await toServer(application(app.listener))()
      assert.ok(E.isRight(target))
      const socket = await keptAliveRequest(target.right, app.finished)
      assert.ok(app.noted() instanceof http.ServerResponse, 'the response is noted while it runs')
      assert.equal(noted(socket), undefined)
      socket.destroy()
    })
  }
})
