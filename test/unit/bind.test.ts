import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import fc from 'fast-check'
import { type Bind, type BindError, describeBindError, formatBind, MAX_UNIX_PATH_BYTES, parseBind, tcp, unix } from '../../src/core/bind'

describe('parseBind accepts', () => {
  const table: readonly [string, Bind][] = [
    ['tcp://0.0.0.0:6789', tcp('0.0.0.0', 6789)],
    ['tcp://127.0.0.1:0', tcp('127.0.0.1', 0)],
    ['tcp://localhost:65535', tcp('localhost', 65535)],
    ['tcp://my-host.example.com:80', tcp('my-host.example.com', 80)],
    ['tcp://[::1]:8080', tcp('::1', 8080)],
    ['tcp://[::]:443', tcp('::', 443)],
    ['tcp://[fe80::1:2]:1', tcp('fe80::1:2', 1)],
    ['unix:///tmp/echo.sock', unix('/tmp/echo.sock')],
    ['unix:///run/with space/x', unix('/run/with space/x')],
  ]
  for (const [input, expected] of table) {
    it(input, () => assert.deepStrictEqual(parseBind(input), E.right(expected)))
  }
})

describe('parseBind rejects, saying what was expected', () => {
  const table: readonly [string, BindError['_tag'], RegExp][] = [
    ['0.0.0.0:80', 'UnsupportedScheme', /expected tcp:\/\/host:port, tcp:\/\/\[ipv6\]:port or unix:\/\/\/absolute\/path/],
    ['http://localhost:80', 'UnsupportedScheme', /expected tcp:\/\/host:port/],
    ['', 'UnsupportedScheme', /not an address/],
    ['tcp://localhost', 'MalformedTcp', /expected tcp:\/\/host:port/],
    ['tcp://::1:80', 'MalformedTcp', /IPv6 in brackets/],
    ['tcp://localhost:80/path', 'MalformedTcp', /expected tcp:\/\/host:port/],
    ['tcp://:80', 'InvalidHost', /invalid host ""/],
    ['tcp://[not-ipv6]:80', 'InvalidHost', /invalid host "not-ipv6"/],
    ['tcp://bad_host!:80', 'InvalidHost', /invalid host/],
    ['tcp://localhost:65536', 'InvalidPort', /whole number from 0 to 65535/],
    ['tcp://localhost:-1', 'InvalidPort', /invalid port "-1"/],
    ['tcp://localhost:http', 'InvalidPort', /invalid port "http"/],
    ['tcp://localhost:', 'InvalidPort', /invalid port ""/],
    ['unix://tmp/x.sock', 'RelativeUnixPath', /three slashes/],
    ['unix://', 'RelativeUnixPath', /absolute/],
    ['unix:///tmp/dir/', 'InvalidUnixPath', /names a folder/],
    ['unix:///tmp/a\0b', 'InvalidUnixPath', /NUL/],
    [`unix:///${'x'.repeat(MAX_UNIX_PATH_BYTES)}`, 'InvalidUnixPath', /limit is 101/],
  ]
  for (const [input, tag, message] of table) {
    it(JSON.stringify(input), () => {
      const r = parseBind(input)
      assert.ok(E.isLeft(r), `expected a rejection, got ${JSON.stringify(r)}`)
      assert.equal(r.left._tag, tag)
      assert.match(describeBindError(r.left), message)
    })
  }
})

describe('formatBind', () => {
  it('round-trips every valid address', () => {
    const host = fc.oneof(
      fc.ipV4(),
      fc.ipV6(),
      fc.domain().filter((d) => !d.endsWith('.')),
    )
    const bind = fc.oneof(
      fc.tuple(host, fc.integer({ min: 0, max: 65535 })).map(([h, port]) => tcp(h, port)),
      fc.array(fc.stringMatching(/^[a-z0-9._-]{1,12}$/), { minLength: 1, maxLength: 5 }).map((parts) => unix(`/${parts.join('/')}`)),
    )
    fc.assert(fc.property(bind, (b) => assert.deepStrictEqual(parseBind(formatBind(b)), E.right(b))))
  })
})
