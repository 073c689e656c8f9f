import assert from 'node:assert/strict'
import * as https from 'node:https'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import { describeServeError, serveHttpTask } from '../../src/index'

describe('serveHttpTask', () => {
  it('refuses an https.Server with a message saying what it takes, before reading any config', async () => {
    const r = await serveHttpTask('/nonexistent/config.json', https.createServer())()
    assert.ok(E.isLeft(r))
    assert.equal(r.left._tag, 'UnsupportedServer')
    assert.match(describeServeError(r.left), /serveHttp was given an https.Server, which it cannot serve: .* give it the request listener or a plain http.Server/)
  })
})
