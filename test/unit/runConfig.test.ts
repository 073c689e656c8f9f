/** `uninterruptible run`'s command line and config (src/core/runConfig.ts). */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import { decodeConfig } from '../../src/core/config'
import { mergeRunConfig, nameFlags, parseRunArgs } from '../../src/core/runConfig'

describe('parseRunArgs', () => {
  it('reads flags, the config file and the command after --', () => {
    const r = parseRunArgs(['--config', 'app.json', '--bind', 'tcp://127.0.0.1:3000', '--bind=unix:///run/a.sock', '--workers', '2', '--drain-timeout-ms', '5000', '--tls-cert', 'c.pem', '--', 'node', '--enable-source-maps', 'app.js', '--port', '3000'])
    assert.deepStrictEqual(r, E.right({
      configFile: 'app.json',
      flags: { bind: ['tcp://127.0.0.1:3000', 'unix:///run/a.sock'], workers: 2, drainTimeoutMs: 5000, tls: { certPath: 'c.pem' } },
      command: ['node', '--enable-source-maps', 'app.js', '--port', '3000'],
    }))
  })

  it('one --bind is a plain address; --workers auto; --compile-cache false', () => {
    const r = parseRunArgs(['--bind', 'tcp://127.0.0.1:3000', '--workers', 'auto', '--compile-cache', 'false', '--', 'node', 'app.js'])
    assert.ok(E.isRight(r))
    assert.deepStrictEqual(r.right.flags, { bind: 'tcp://127.0.0.1:3000', workers: 'auto', compileCache: false })
  })

  const refused: readonly (readonly [string[], RegExp])[] = [
    [['--bind', 'tcp://a:1', 'node', 'app.js'], /needs the application's command after --/],
    [['--bind', 'tcp://a:1', '--'], /needs a command after --/],
    [['--nope', '1', '--', 'node', 'a.js'], /unknown option --nope/],
    [['--bind', '--', 'node', 'a.js'], /unknown option|needs a value/],
    [['app.js', '--', 'node'], /unexpected "app.js" before --/],
  ]
  for (const [argv, message] of refused) it(`refuses ${argv.join(' ')}`, () => {
    const r = parseRunArgs(argv)
    assert.ok(E.isLeft(r))
    assert.match(r.left, message)
  })
})

describe('mergeRunConfig and nameFlags', () => {
  it('flags override the file, tls key by key; workers defaults to 1', () => {
    const merged = mergeRunConfig({ bind: 'tcp://0.0.0.0:80', drainTimeoutMs: 1000, tls: { certPath: 'a', keyPath: 'b' } }, { drainTimeoutMs: 2000, tls: { keyPath: 'k' } })
    assert.deepStrictEqual(merged, { bind: 'tcp://0.0.0.0:80', drainTimeoutMs: 2000, tls: { certPath: 'a', keyPath: 'k' }, workers: 1 })
    assert.equal(mergeRunConfig({}, { workers: 3 }).workers, 3)
  })

  it('a problem with a value from a flag names the flag; one from the file does not', () => {
    const flags = { drainTimeoutMs: 'soon', tls: { certPath: 'c' } }
    const decoded = decodeConfig(mergeRunConfig({ bind: 'tcp://127.0.0.1:1', logLevel: 'loud' }, flags), {})
    assert.ok(E.isLeft(decoded))
    const keys = nameFlags(decoded.left.problems, flags).map((p) => p.key)
    assert.ok(keys.includes('drainTimeoutMs (--drain-timeout-ms)'), keys.join(', '))
    assert.ok(keys.includes('logLevel'))
    assert.ok(keys.some((k) => k.startsWith('tls.keyPath')) && !keys.some((k) => k.startsWith('tls.keyPath (')), 'keyPath came from neither')
  })
})
