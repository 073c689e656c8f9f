import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import * as O from 'fp-ts/Option'
import { formatCommand, type Self, startCommand } from '../../src/core/command'

const self: Self = {
  execPath: '/usr/bin/node',
  execArgv: ['--import', 'tsx'],
  argv: ['/usr/bin/node', '/app/echo.js', 'echo.json'],
  cwd: '/app',
  logicalCwd: O.none,
}

describe('startCommand', () => {
  it('re-runs this process by default, with its node flags, in its folder', () => {
    assert.deepStrictEqual(startCommand(O.none, self), { file: '/usr/bin/node', args: ['--import', 'tsx', '/app/echo.js', 'echo.json'], cwd: '/app' })
  })

  it('adds no flag of its own: --disable-sigusr1 would block SIGUSR1 for good on Node 22-26', () => {
    assert.deepStrictEqual(startCommand(O.none, self).args, ['--import', 'tsx', '/app/echo.js', 'echo.json'])
  })

  it('runs a configured command line with sh -c', () => {
    assert.deepStrictEqual(startCommand(O.some('cd /app && exec node echo.js'), self), {
      file: '/bin/sh',
      args: ['-c', 'cd /app && exec node echo.js'],
      cwd: '/app',
    })
  })

  it('started through a symlinked folder: runs in that folder, and names the script through it', () => {
    const released: Self = { ...self, argv: ['/usr/bin/node', '/srv/releases/7/server.js', 'config.json'], cwd: '/srv/releases/7', logicalCwd: O.some('/srv/current') }
    assert.deepStrictEqual(startCommand(O.none, released), { file: '/usr/bin/node', args: ['--import', 'tsx', '/srv/current/server.js', 'config.json'], cwd: '/srv/current' })
    assert.equal(startCommand(O.some('exec node server.js'), released).cwd, '/srv/current')
    // a script named by another path is left as it was given
    const elsewhere: Self = { ...released, argv: ['/usr/bin/node', '/opt/tool/server.js'] }
    assert.deepStrictEqual(startCommand(O.none, elsewhere).args, ['--import', 'tsx', '/opt/tool/server.js'])
    // a prefix that is not a whole folder name is not rewritten
    const sibling: Self = { ...released, argv: ['/usr/bin/node', '/srv/releases/70/server.js'] }
    assert.deepStrictEqual(startCommand(O.none, sibling).args, ['--import', 'tsx', '/srv/releases/70/server.js'])
  })

  it('formats a command for logs with shell quoting', () => {
    assert.equal(formatCommand({ file: '/bin/sh', args: ['-c', "echo 'hi' there"] }), `/bin/sh -c 'echo '\\''hi'\\'' there'`)
  })
})
