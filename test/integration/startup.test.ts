/**
 * Bad input at start-up, with real processes: each case exits 1 with a message naming what is wrong
 * and what to do, and leaves nothing behind (no pidfile, no socket file, no process).
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { after, describe, it } from 'node:test'
import { INHERIT_ENV } from '../../src/core/wire/inherit'
import { ServerProcess, type SpawnOptions, testEnv, withDir as inDir, writeJson } from '../support/harness'
import { isRoot, Unprivileged } from '../support/unprivileged'

interface Refusal {
  readonly config: Record<string, unknown>
  readonly options?: SpawnOptions
  /** Run the server as an unprivileged user (`nobody` when we are root). */
  readonly unprivileged?: true
  readonly message: RegExp
}

const nobody = new Unprivileged()
after(() => nobody.remove())

/** Why these tests cannot run the server as a user other than ourselves here, or undefined if they can. */
const otherUserProblem = (): string | undefined => (isRoot() ? nobody.problem() : 'needs root, to run the server as an unprivileged user')

/** A folder every user may read (configs) but only root may write, when we are root. */
const lockedFolder = (dir: string): string => {
  const locked = path.join(dir, 'locked')
  fs.mkdirSync(locked, { mode: 0o755 })
  return locked
}

const refuses = async (dir: string, r: Refusal): Promise<ServerProcess> => {
  const config = writeJson(path.join(dir, 'echo.json'), r.config)
  const before = fs.readdirSync(dir, { recursive: true }).sort()
  const server = r.unprivileged === true ? nobody.echo(config, r.options) : ServerProcess.echo(config, r.options)
  try {
    const { code } = await server.closed
    const stderr = server.text.join('\n')
    assert.equal(code, 1, `exit code (stderr: ${stderr})`)
    assert.match(stderr, r.message)
    assert.deepStrictEqual(fs.readdirSync(dir, { recursive: true }).sort(), before, 'nothing left behind')
    return server
  } finally {
    server.killAll()
  }
}

// readable by all, so an unprivileged server can read its config
const withDir = (f: (dir: string) => Promise<unknown>): Promise<void> => inDir(f, 0o755)

const listening = (): Promise<net.Server> =>
  new Promise((resolve) => {
    const s = net.createServer()
    s.listen(0, '127.0.0.1', () => resolve(s))
  })

const portOfServer = (s: net.Server): number => {
  const a = s.address()
  if (a === null || typeof a !== 'object') throw new Error('no port')
  return a.port
}

describe('bad input at start-up', { timeout: 120_000 }, () => {
  it('port in use', () =>
    withDir(async (dir) => {
      const other = await listening()
      try {
        const port = portOfServer(other)
        await refuses(dir, {
          config: { bind: `tcp://127.0.0.1:${port}`, pidfilePath: path.join(dir, 'echo.pid') },
          message: new RegExp(`address in use: cannot listen on tcp://127.0.0.1:${port}: another process is listening there; stop that server or choose another address`),
        })
      } finally {
        other.close()
      }
    }))

  it('port in use, supervised: the supervisor refuses with the same message, and no worker ever starts', () =>
    withDir(async (dir) => {
      const other = await listening()
      try {
        const port = portOfServer(other)
        const server = await refuses(dir, {
          config: { bind: [`tcp://127.0.0.1:0`, `tcp://127.0.0.1:${port}`], pidfilePath: path.join(dir, 'echo.pid'), workers: 2, logLevel: 'debug' },
          message: new RegExp(`address in use: cannot listen on tcp://127.0.0.1:${port}: another process is listening there; stop that server or choose another address`),
        })
        assert.deepStrictEqual(server.lines.filter((l) => l.event === 'worker-spawned' || l.worker !== undefined), [], 'no worker was started')
      } finally {
        other.close()
      }
    }),
  )

  it('privileged port', async (t) => {
    const threshold = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'))
    if (threshold <= 999) {
      t.skip(`this kernel lets anyone bind ports from ${threshold}, so port 999 is not privileged here`)
      return
    }
    const problem = nobody.problem()
    if (problem !== undefined) {
      t.skip(problem)
      return
    }
    await withDir((dir) =>
      refuses(dir, {
        config: { bind: 'tcp://127.0.0.1:999', pidfilePath: path.join(dir, 'echo.pid') },
        unprivileged: true,
        message: /permission denied: cannot listen on tcp:\/\/127.0.0.1:999: ports below 1024 need root or the CAP_NET_BIND_SERVICE capability/,
      }),
    )
  })

  it('UNIX path in a missing folder', () =>
    withDir((dir) =>
      refuses(dir, {
        config: { bind: `unix://${dir}/missing/echo.sock`, pidfilePath: path.join(dir, 'echo.pid') },
        message: /cannot listen on unix:\/\/.*\/missing\/echo\.sock: the folder .*\/missing does not exist; create it first/,
      }),
    ))

  it('UNIX path in a folder without permission', async (t) => {
    const problem = otherUserProblem()
    if (problem !== undefined) {
      t.skip(problem)
      return
    }
    await withDir(async (dir) => {
      const locked = lockedFolder(dir)
      await refuses(dir, {
        config: { bind: `unix://${locked}/echo.sock` },
        unprivileged: true,
        message: /permission denied: cannot listen on unix:\/\/.*\/locked\/echo\.sock: this user may not create files in the socket folder/,
      })
    })
  })

  it('pidfile in a missing folder: the bound socket file is removed again', () =>
    withDir((dir) =>
      refuses(dir, {
        config: { bind: `unix://${dir}/echo.sock`, pidfilePath: path.join(dir, 'missing/echo.pid') },
        message: /cannot write the pidfile .*\/missing\/echo\.pid: the folder .*\/missing does not exist; create it or set pidfilePath elsewhere/,
      }),
    ))

  it('log file in a missing folder', () =>
    withDir((dir) =>
      refuses(dir, {
        config: { bind: `unix://${dir}/echo.sock`, logPath: path.join(dir, 'missing/echo.log') },
        message: /cannot open the log file .*\/missing\/echo\.log: the folder .*\/missing does not exist; create it or set logPath elsewhere/,
      }),
    ))

  it('pidfile in a folder without permission', async (t) => {
    const problem = otherUserProblem()
    if (problem !== undefined) {
      t.skip(problem)
      return
    }
    await withDir(async (dir) => {
      const locked = lockedFolder(dir)
      fs.chmodSync(dir, 0o777) // the socket may be created, the pidfile may not
      await refuses(dir, {
        config: { bind: `unix://${dir}/echo.sock`, pidfilePath: path.join(locked, 'echo.pid') },
        unprivileged: true,
        message: /cannot write the pidfile .*\/locked\/echo\.pid: this user may not write .*; fix the permissions of .*\/locked or set pidfilePath elsewhere/,
      })
    })
  })
})

describe('a malformed inherited-socket environment', { timeout: 120_000 }, () => {
  /** What a restart passes: the listener at fd 3, the channel at fd 4 (`overrides` replace fields). */
  const inheritEnv = (dir: string, overrides: Record<string, unknown>): NodeJS.ProcessEnv => ({
    ...testEnv(),
    [INHERIT_ENV]: JSON.stringify({
      role: 'successor',
      generation: 2,
      parentPid: process.pid,
      restartSignal: 'SIGUSR1',
      channel: 4,
      listeners: [{ bind: `unix://${dir}/echo.sock`, fd: 3, socketId: '1:1' }],
      ...overrides,
    }),
  })
  const config = (dir: string): Record<string, unknown> => ({ bind: `unix://${dir}/echo.sock`, pidfilePath: path.join(dir, 'echo.pid') })

  it('garbage in a field', () =>
    withDir((dir) =>
      refuses(dir, {
        config: config(dir),
        options: { env: inheritEnv(dir, { listeners: [{ bind: `unix://${dir}/echo.sock`, fd: 'three' }] }) },
        message: /inherited-socket environment is malformed: UNINTERRUPTIBLE_INHERIT=.*: listeners\.0\.fd: got "three", expected a file descriptor number from 3 to 65535/,
      }),
    ))

  it('a field missing', () =>
    withDir((dir) =>
      refuses(dir, { config: config(dir), options: { env: inheritEnv(dir, { channel: undefined }) }, message: /channel: got undefined, expected a file descriptor number/ }),
    ))

  it('not JSON', () =>
    withDir((dir) =>
      refuses(dir, { config: config(dir), options: { env: { ...testEnv(), [INHERIT_ENV]: 'fd=3' } }, message: /UNINTERRUPTIBLE_INHERIT="fd=3": \(value\): is not JSON/ }),
    ))

  it('an fd that is not a socket', () =>
    withDir(async (dir) => {
      const file = fs.openSync(path.join(dir, 'not-a-socket'), 'w')
      try {
        await refuses(dir, {
          config: config(dir),
          options: { env: inheritEnv(dir, {}), extraFds: [file, 'ignore'] },
          message: /cannot use the inherited listening socket \(fd 3\): it is not a socket/,
        })
      } finally {
        fs.closeSync(file)
      }
    }))

  it('a closed fd', () =>
    withDir((dir) =>
      refuses(dir, {
        config: config(dir),
        options: { env: inheritEnv(dir, { listeners: [{ bind: `unix://${dir}/echo.sock`, fd: 900 }], channel: 901 }) },
        message: /cannot use the inherited listening socket \(fd 900\): it is not open/,
      }),
    ))

  it('a readiness fd that is not open (the listening fd is a socket)', () =>
    withDir((dir) =>
      refuses(dir, {
        config: config(dir),
        options: { env: inheritEnv(dir, { channel: 901 }), extraFds: ['pipe'] },
        message: /cannot use the inherited readiness pipe \(fd 901\): it is not open: the start command did not pass it on .*; it is set up by a restart/,
      }),
    ))

  it('a readiness fd that is not a pipe', () =>
    withDir(async (dir) => {
      const file = fs.openSync(path.join(dir, 'not-a-pipe'), 'w')
      try {
        await refuses(dir, {
          config: config(dir),
          options: { env: inheritEnv(dir, {}), extraFds: ['pipe', file] },
          message: /cannot use the inherited readiness pipe \(fd 4\): it is not a pipe/,
        })
      } finally {
        fs.closeSync(file)
      }
    }))

  it('a bind that differs from the config', () =>
    withDir((dir) =>
      refuses(dir, {
        config: { ...config(dir), bind: [`unix://${dir}/other.sock`, 'tcp://127.0.0.1:0'] },
        options: { env: inheritEnv(dir, {}) },
        message: /the config's bind changed: it adds unix:\/\/.*\/other\.sock, tcp:\/\/127\.0\.0\.1:0 and removes unix:\/\/.*\/echo\.sock; a restart keeps the listening sockets, so it cannot change the addresses: stop the server and start it again instead/,
      }),
    ))
})
