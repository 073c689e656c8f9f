/**
 * validateConfig, validateConfigTask and assertConfig (src/validate.ts): every input form, every problem at
 * once with its key, JSON mistakes with their line and column, and the decoded config when all is well.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import * as O from 'fp-ts/Option'
import { tcp } from '../../src/core/bind'
import { assertConfig, describeConfigValidationError, InvalidConfigError, validateConfig, validateConfigTask } from '../../src/validate'

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uni-validate-'))
after(() => fs.rmSync(dir, { recursive: true, force: true }))

// the README's bad config (section Configuration)
const BAD = { bind: 'localhost:6789', logLevel: 'verbose' }
const GOOD = { bind: 'tcp://127.0.0.1:6789', drainTimeoutMs: 5000 }

const file = (name: string, text: string): string => {
  const p = path.join(dir, name)
  fs.writeFileSync(p, text)
  return p
}

const message = (r: E.Either<Parameters<typeof describeConfigValidationError>[0], unknown>): string => {
  assert.ok(E.isLeft(r), 'expected a rejection')
  return describeConfigValidationError(r.left)
}

describe('validateConfig', () => {
  const forms: readonly (readonly [string, (v: unknown) => unknown])[] = [
    ['a parsed value', (v) => v],
    ['JSON text', (v) => JSON.stringify(v, null, 2)],
    ['JSON text after white space', (v) => `\n  ${JSON.stringify(v)}`],
    ['a file path', (v) => file(`c${Math.random()}.json`, JSON.stringify(v))],
  ]
  for (const [name, form] of forms) {
    it(`${name}: the README's bad config gives both problems, each naming its key`, () => {
      const r = validateConfig(form(BAD), { env: {} })
      assert.ok(E.isLeft(r) && r.left._tag === 'InvalidConfig')
      assert.deepStrictEqual(
        r.left.problems.map((p) => p.key),
        ['bind', 'logLevel'],
      )
      assert.equal(
        describeConfigValidationError(r.left),
        [
          'invalid config (2 problems):',
          '  - bind: "localhost:6789" is not an address: expected tcp://host:port, tcp://[ipv6]:port or unix:///absolute/path',
          '  - logLevel: got "verbose", expected one of fatal, error, warn, info, debug, trace, silent',
        ].join('\n'),
      )
    })

    it(`${name}: a good config is decoded`, () => {
      const r = validateConfig(form(GOOD), { env: {} })
      assert.ok(E.isRight(r))
      assert.deepStrictEqual(r.right.binds, [tcp('127.0.0.1', 6789)])
      assert.deepStrictEqual(r.right.drainTimeoutMs, O.some(5000))
      assert.equal(r.right.logLevel, 'info')
    })
  }

  it('JSON mistakes are reported with their line and column, in text and in a file', () => {
    const text = '{\n  "bind": "tcp://127.0.0.1:1",\n  "logLevel": \n}\n'
    assert.equal(message(validateConfig(text)), 'the config text is not valid JSON: expected a value at line 4, column 1')
    const p = file('trailing.json', '{\n  "bind": "tcp://127.0.0.1:1",\n}')
    assert.equal(message(validateConfig(p)), `the config file ${p} is not valid JSON: expected a key in double quotes (a trailing comma?) at line 3, column 1`)
    assert.equal(message(validateConfig('{"bind": "tcp://a:1" "x": 1}')), "the config text is not valid JSON: expected ',' between entries at line 1, column 22")
    assert.equal(message(validateConfig(file('empty.json', ''))), `the config file ${path.join(dir, 'empty.json')} is not valid JSON: expected a value at line 1, column 1`)
  })

  it('a file that cannot be read', () => {
    const missing = path.join(dir, 'missing.json')
    assert.match(message(validateConfig(missing)), new RegExp(`^cannot read the config file ${missing}: ENOENT`))
  })

  it('PORT and PID_FILE come from the environment given, as for serve', () => {
    const r = validateConfig({}, { env: { PORT: '8080', PID_FILE: '/run/x.pid' } })
    assert.ok(E.isRight(r))
    assert.deepStrictEqual(r.right.binds, [tcp('0.0.0.0', 8080)])
    assert.deepStrictEqual(r.right.pidfilePath, O.some('/run/x.pid'))
    assert.match(message(validateConfig({}, { env: {} })), /bind: is missing/)
  })

  it('the TaskEither form gives the same', async () => {
    assert.deepStrictEqual(await validateConfigTask(BAD, { env: {} })(), validateConfig(BAD, { env: {} }))
    assert.deepStrictEqual(await validateConfigTask(GOOD, { env: {} })(), validateConfig(GOOD, { env: {} }))
  })

  it('the throwing form returns the config, or throws InvalidConfigError with the message serve prints', () => {
    assert.deepStrictEqual(assertConfig(GOOD, { env: {} }).binds, [tcp('127.0.0.1', 6789)])
    assert.throws(
      () => assertConfig(BAD, { env: {} }),
      (err: unknown) => err instanceof InvalidConfigError && err.error._tag === 'InvalidConfig' && err.message.startsWith('invalid config (2 problems):'),
    )
  })
})
