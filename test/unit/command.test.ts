import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as O from 'fp-ts/Option'
import { formatCommand, startCommand } from '../../src/core/command'

const self = { execPath: '/usr/bin/node', execArgv: ['--import', 'tsx'], argv: ['/usr/bin/node', '/app/echo.js', 'echo.json'], canDisableSigusr1: false }

describe('startCommand', () => {
  it('re-runs this process by default, with its node flags', () => {
    assert.deepStrictEqual(startCommand(O.none, self), { file: '/usr/bin/node', args: ['--import', 'tsx', '/app/echo.js', 'echo.json'] })
  })

  it('adds --disable-sigusr1 where Node supports it, once', () => {
    assert.deepStrictEqual(startCommand(O.none, { ...self, canDisableSigusr1: true }).args, ['--disable-sigusr1', '--import', 'tsx', '/app/echo.js', 'echo.json'])
    assert.deepStrictEqual(
      startCommand(O.none, { ...self, execArgv: ['--disable-sigusr1'], canDisableSigusr1: true }).args,
      ['--disable-sigusr1', '/app/echo.js', 'echo.json'],
    )
  })

  it('runs a configured command line with sh -c', () => {
    assert.deepStrictEqual(startCommand(O.some('cd /app && exec node echo.js'), self), { file: '/bin/sh', args: ['-c', 'cd /app && exec node echo.js'] })
  })

  it('formats a command for logs with shell quoting', () => {
    assert.equal(formatCommand({ file: '/bin/sh', args: ['-c', "echo 'hi' there"] }), `/bin/sh -c 'echo '\\''hi'\\'' there'`)
  })
})
