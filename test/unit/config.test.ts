import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import { type Bind, tcp, unix } from '../../src/core/bind'
import { type Config, decodeConfig, describeConfigError } from '../../src/core/config'

const defaults = (bind: Bind): Config => ({
  binds: [bind],
  startCommand: O.none,
  pidfilePath: O.none,
  logPath: O.none,
  logLevel: 'info',
  drainTimeoutMs: O.none,
  readyTimeoutMs: 10_000 as Config['readyTimeoutMs'],
  restartSignal: 'SIGUSR1',
  socketMode: 0o660 as Config['socketMode'],
  idleGraceMs: 1000 as Config['idleGraceMs'],
  probationMs: 1000 as Config['probationMs'],
  workers: O.none,
  controlPath: O.none,
  tls: O.none,
  allowedNetworks: O.none,
  compileCache: { _tag: 'Default' },
})

const rejected = (input: unknown, env = {}): string => {
  const r = decodeConfig(input, env)
  assert.ok(E.isLeft(r), `expected a rejection, got ${JSON.stringify(r)}`)
  return describeConfigError(r.left)
}

describe('decodeConfig', () => {
  it('decodes a full config', () => {
    const r = decodeConfig(
      {
        bind: 'unix:///tmp/echo.sock',
        startCommand: 'node dist/examples/echo.js examples/echo.json',
        pidfilePath: '/tmp/echo.pid',
        logPath: '/tmp/echo.log',
        logLevel: 'debug',
        drainTimeoutMs: 30000,
        readyTimeoutMs: 5000,
        restartSignal: 'SIGHUP',
        socketMode: '0600',
        idleGraceMs: 250,
        probationMs: 0,
        workers: 'auto',
        controlPath: '/run/echo.control',
        tls: { certPath: 'cert.pem', keyPath: 'key.pem', clientCertificates: 'require', caPath: 'ca.pem' },
        allowedNetworks: ['127.0.0.1/32', '10.0.0.0/8', '::1'],
        compileCache: '/var/cache/app',
      },
      {},
    )
    assert.deepStrictEqual(
      r,
      E.right({
        binds: [unix('/tmp/echo.sock')],
        startCommand: O.some('node dist/examples/echo.js examples/echo.json'),
        pidfilePath: O.some('/tmp/echo.pid'),
        logPath: O.some('/tmp/echo.log'),
        logLevel: 'debug',
        drainTimeoutMs: O.some(30000),
        readyTimeoutMs: 5000,
        restartSignal: 'SIGHUP',
        socketMode: 0o600,
        idleGraceMs: 250,
        probationMs: 0,
        workers: O.some('auto'),
        controlPath: O.some('/run/echo.control'),
        tls: O.some({ certPath: 'cert.pem', keyPath: 'key.pem', caPath: O.some('ca.pem'), clientCertificates: 'require', handshakeTimeoutMs: 10000 }),
        allowedNetworks: O.some([
          { address: '127.0.0.1', prefix: 32, family: 'ipv4' },
          { address: '10.0.0.0', prefix: 8, family: 'ipv4' },
          { address: '::1', prefix: 128, family: 'ipv6' },
        ]),
        compileCache: { _tag: 'At', path: '/var/cache/app' },
      }),
    )
  })

  it('takes compileCache as true, false or a folder', () => {
    const cache = (compileCache: unknown): unknown => E.map((c: Config) => c.compileCache)(decodeConfig({ bind: 'tcp://a:1', compileCache }, {}))
    assert.deepStrictEqual(cache(true), E.right({ _tag: 'Default' }))
    assert.deepStrictEqual(cache(false), E.right({ _tag: 'Off' }))
    assert.deepStrictEqual(cache('/c'), E.right({ _tag: 'At', path: '/c' }))
  })

  it('applies defaults', () => {
    assert.deepStrictEqual(decodeConfig({ bind: 'tcp://127.0.0.1:6789' }, {}), E.right(defaults(tcp('127.0.0.1', 6789))))
  })

  it('falls back to tcp://0.0.0.0:$PORT and $PID_FILE, as the gem does', () => {
    assert.deepStrictEqual(
      decodeConfig({}, { PORT: '8080', PID_FILE: '/run/x.pid' }),
      E.right({ ...defaults(tcp('0.0.0.0', 8080)), pidfilePath: O.some('/run/x.pid') }),
    )
  })

  it('prefers the config over the environment', () => {
    const r = decodeConfig({ bind: 'tcp://[::1]:1', pidfilePath: 'a.pid' }, { PORT: '8080', PID_FILE: '/run/x.pid' })
    assert.deepStrictEqual(r, E.right({ ...defaults(tcp('::1', 1)), pidfilePath: O.some('a.pid') }))
  })

  it('takes a list of addresses, in their order', () => {
    assert.deepStrictEqual(
      decodeConfig({ bind: ['tcp://127.0.0.1:80', 'unix:///run/a.sock'] }, {}),
      E.right({ ...defaults(tcp('127.0.0.1', 80)), binds: [tcp('127.0.0.1', 80), unix('/run/a.sock')] }),
    )
  })

  it('accepts the socket mode written as 660, 0660 or 0o660', () => {
    for (const socketMode of ['660', '0660', '0o660']) {
      const r = decodeConfig({ bind: 'unix:///tmp/a', socketMode }, {})
      assert.ok(E.isRight(r))
      assert.equal(r.right.socketMode, 0o660)
    }
  })
})

describe('decodeConfig rejects, naming the key and what was expected', () => {
  const table: readonly [string, unknown, Record<string, string>, RegExp][] = [
    ['no bind and no PORT', {}, {}, /bind: is missing: expected an address: tcp:\/\/host:port.*or a PORT environment variable/],
    ['a bad PORT', {}, { PORT: 'eighty' }, /bind: is not set, and PORT="eighty" is not a port: expected a whole number from 0 to 65535/],
    ['a bad bind', { bind: 'localhost:80' }, {}, /bind: "localhost:80" is not an address: expected tcp:\/\/host:port/],
    ['a bind that is not a string', { bind: 80 }, {}, /bind: got 80, expected an address: .*, or a non-empty list of addresses/],
    ['an empty bind list', { bind: [] }, {}, /bind: is an empty list: expected an address/],
    ['a relative controlPath', { bind: 'tcp://a:1', controlPath: 'run/echo.control' }, {}, /controlPath: got "run\/echo.control", expected an absolute path for a UNIX socket/],
    ['a tls without keyPath', { bind: 'tcp://a:1', tls: { certPath: 'c.pem' } }, {}, /tls\.keyPath: got undefined, expected a path to a PEM private key/],
    ['a tls with a typo', { bind: 'tcp://a:1', tls: { certPath: 'c.pem', keyPath: 'k.pem', cacert: 'x' } }, {}, /tls: cacert: not a key of tls; the keys are certPath, keyPath, caPath, clientCertificates, handshakeTimeoutMs/],
    ['a tls clientCertificates word', { bind: 'tcp://a:1', tls: { certPath: 'c.pem', keyPath: 'k.pem', clientCertificates: 'yes' } }, {}, /tls\.clientCertificates: got "yes", expected one of none, request, require/],
    ['a bad network', { bind: 'tcp://a:1', allowedNetworks: ['10.0.0.0/8', '10.0.0.0/33'] }, {}, /allowedNetworks: entry 1: "10\.0\.0\.0\/33" has prefix length "33": expected a whole number from 0 to 32/],
    ['a network that is a host name', { bind: 'tcp://a:1', allowedNetworks: ['example.com'] }, {}, /allowedNetworks: entry 0: "example\.com" does not start with an IPv4 or IPv6 address/],
    ['zero workers', { bind: 'tcp://a:1', workers: 0 }, {}, /workers: got 0, expected a whole number of workers from 1 to 1024, or "auto" \(one per core\)/],
    ['workers as a word', { bind: 'tcp://a:1', workers: 'many' }, {}, /workers: got "many", expected a whole number of workers/],
    ['a bad address in a list', { bind: ['tcp://a:1', 'b:2'] }, {}, /bind\.1: "b:2" is not an address/],
    ['an address given twice', { bind: ['tcp://a:1', 'unix:///s', 'tcp://a:1'] }, {}, /bind\.2: tcp:\/\/a:1 is also bind\.0: each address may be given once/],
    ['an empty startCommand', { bind: 'tcp://a:1', startCommand: ' ' }, {}, /startCommand: got " ", expected a non-empty string/],
    ['a pidfilePath that is not a string', { bind: 'tcp://a:1', pidfilePath: true }, {}, /pidfilePath: got true, expected a non-empty string/],
    ['an empty logPath', { bind: 'tcp://a:1', logPath: '' }, {}, /logPath: got "", expected a non-empty string/],
    ['an unknown logLevel', { bind: 'tcp://a:1', logLevel: 'verbose' }, {}, /logLevel: got "verbose", expected one of fatal, error, warn, info, debug, trace, silent/],
    ['a negative drainTimeoutMs', { bind: 'tcp://a:1', drainTimeoutMs: -5 }, {}, /drainTimeoutMs: got -5, expected a whole number of milliseconds from 1 to 2147483647/],
    ['a fractional readyTimeoutMs', { bind: 'tcp://a:1', readyTimeoutMs: 1.5 }, {}, /readyTimeoutMs: got 1.5, expected a whole number of milliseconds/],
    ['a readyTimeoutMs as a string', { bind: 'tcp://a:1', readyTimeoutMs: '5000' }, {}, /readyTimeoutMs: got "5000", expected a whole number/],
    ['a stop signal as restartSignal', { bind: 'tcp://a:1', restartSignal: 'SIGTERM' }, {}, /restartSignal: got "SIGTERM", expected one of SIGUSR1, SIGUSR2, SIGHUP/],
    ['a decimal socketMode', { bind: 'unix:///a', socketMode: 432 }, {}, /socketMode: got 432, expected a file mode as an octal string, such as "0660"/],
    ['a relative compileCache folder', { bind: 'tcp://a:1', compileCache: 'cache' }, {}, /compileCache: got "cache", expected true, false, or an absolute path to a folder that only this user may write/],
    ['an unknown key', { bind: 'tcp://a:1', pidFile: 'x' }, {}, /pidFile: is not a config key; the keys are bind, startCommand, pidfilePath/],
    ['an array', [], {}, /\(config\): got \[\], expected a JSON object/],
    ['null', null, {}, /\(config\): got null, expected a JSON object/],
  ]
  for (const [name, input, env, message] of table) {
    it(name, () => assert.match(rejected(input, env), message))
  }

  it('names every invalid key in one message', () => {
    const message = rejected({ bind: 'nope', logLevel: 'loud', drainTimeoutMs: 0, extra: 1 })
    assert.match(message, /^invalid config \(4 problems\):/)
    for (const key of ['bind', 'logLevel', 'drainTimeoutMs', 'extra']) assert.match(message, new RegExp(`^  - ${key}: `, 'm'))
  })
})
