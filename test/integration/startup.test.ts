/**
 * Bad input at start-up, with real processes: each case exits 1 with a message naming what is wrong
 * and what to do, and leaves nothing behind (no pidfile, no socket file, no process).
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { ENV } from '../../src/core/inherit'
import { ServerProcess, type SpawnOptions, tempDir, testEnv, unprivileged, writeJson } from '../support/harness'

interface Refusal {
  readonly config: Record<string, unknown>
  readonly options?: SpawnOptions
  readonly message: RegExp
}

/** A folder every user may read (configs) but only root may write, when we are root. */
const lockedFolder = (dir: string): string => {
  const locked = path.join(dir, 'locked')
  fs.mkdirSync(locked, { mode: 0o755 })
  return locked
}

const refuses = async (dir: string, r: Refusal): Promise<ServerProcess> => {
  const config = writeJson(path.join(dir, 'echo.json'), r.config)
  const before = fs.readdirSync(dir, { recursive: true }).sort()
  const server = ServerProcess.echo(config, r.options)
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

const withDir = async (f: (dir: string) => Promise<unknown>): Promise<void> => {
  const dir = tempDir()
  fs.chmodSync(dir, 0o755) // so an unprivileged server can read its config
  try {
    await f(dir)
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

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

  it('privileged port', async (t) => {
    const threshold = Number(fs.readFileSync('/proc/sys/net/ipv4/ip_unprivileged_port_start', 'utf8'))
    if (threshold <= 999) {
      t.skip(`this kernel lets anyone bind ports from ${threshold}, so port 999 is not privileged here`)
      return
    }
    await withDir((dir) =>
      refuses(dir, {
        config: { bind: 'tcp://127.0.0.1:999', pidfilePath: path.join(dir, 'echo.pid') },
        options: unprivileged(),
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
    if (process.getuid?.() !== 0) {
      t.skip('needs root, to run the server as an unprivileged user')
      return
    }
    await withDir(async (dir) => {
      const locked = lockedFolder(dir)
      await refuses(dir, {
        config: { bind: `unix://${locked}/echo.sock` },
        options: unprivileged(),
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
    if (process.getuid?.() !== 0) {
      t.skip('needs root, to run the server as an unprivileged user')
      return
    }
    await withDir(async (dir) => {
      const locked = lockedFolder(dir)
      fs.chmodSync(dir, 0o777) // the socket may be created, the pidfile may not
      await refuses(dir, {
        config: { bind: `unix://${dir}/echo.sock`, pidfilePath: path.join(locked, 'echo.pid') },
        options: unprivileged(),
        message: /cannot write the pidfile .*\/locked\/echo\.pid: this user may not write .*; fix the permissions of .*\/locked or set pidfilePath elsewhere/,
      })
    })
  })
})

describe('a malformed inherited-socket environment', { timeout: 120_000 }, () => {
  const inheritEnv = (dir: string, overrides: Record<string, string>): NodeJS.ProcessEnv => ({
    ...testEnv(),
    [ENV.listenFd]: '3',
    [ENV.readyFd]: '4',
    [ENV.generation]: '2',
    [ENV.bind]: `unix://${dir}/echo.sock`,
    [ENV.socketId]: '1:1',
    [ENV.parentPid]: String(process.pid),
    ...overrides,
  })
  const config = (dir: string): Record<string, unknown> => ({ bind: `unix://${dir}/echo.sock`, pidfilePath: path.join(dir, 'echo.pid') })

  it('garbage in a variable', () =>
    withDir((dir) =>
      refuses(dir, {
        config: config(dir),
        options: { env: inheritEnv(dir, { [ENV.listenFd]: 'three' }) },
        message: /inherited-socket environment is malformed: UNINTERRUPTIBLE_LISTEN_FD="three", expected a file descriptor number from 3 to 65535/,
      }),
    ))

  it('a variable missing', () =>
    withDir((dir) => {
      const { [ENV.readyFd]: _dropped, ...env } = inheritEnv(dir, {})
      return refuses(dir, { config: config(dir), options: { env }, message: /UNINTERRUPTIBLE_READY_FD is missing while/ })
    }))

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
        options: { env: inheritEnv(dir, { [ENV.listenFd]: '900', [ENV.readyFd]: '901' }) },
        message: /cannot use the inherited listening socket \(fd 900\): it is not open/,
      }),
    ))

  it('a readiness fd that is not open (the listening fd is a socket)', () =>
    withDir((dir) =>
      refuses(dir, {
        config: config(dir),
        options: { env: inheritEnv(dir, { [ENV.readyFd]: '901' }), extraFds: ['pipe'] },
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
        config: { ...config(dir), bind: `unix://${dir}/other.sock` },
        options: { env: inheritEnv(dir, {}) },
        message: /the config's bind changed from unix:\/\/.*\/echo\.sock to unix:\/\/.*\/other\.sock; a restart keeps the listening socket, so it cannot change the address: stop the server and start it again instead/,
      }),
    ))
})
