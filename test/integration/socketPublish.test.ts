/**
 * A UNIX socket is never reachable by another user with a mode wider than the configured one, not even
 * for the moment between its bind and its publish at the path. A server run as root with umask 000 in a
 * world-writable folder (as /tmp is), and a racer run as `nobody` that watches the folder and, for every
 * name that appears, connects to it (and into it, if it is a folder) again and again until the name is
 * gone, sending a status request: it must never reach a listener or the control socket. Before the fix,
 * both were bound and listening at `<path>.<pid in base 36>` with mode 0777 until their chmod.
 */
import assert from 'node:assert/strict'
import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { createInterface } from 'node:readline'
import { describe, it } from 'node:test'
import { ECHO, HANG_MS, ServerProcess, testEnv, until, withDir, writeJson } from '../support/harness'
import { isRoot } from '../support/unprivileged'

const NOBODY = { uid: 65534, gid: 65534 } as const

/**
 * The racer, run as `nobody` with the folder as its argument. It prints `watching` once it watches,
 * `seen NAME` for each name that appears, and `connected NAME` / `served NAME` the first time a
 * connection to NAME (relative to the folder) is accepted / answered. A name is tried as a socket, and as a folder: each of its entries when it can
 * be listed, and the inner name the library binds (`s`) when it cannot.
 */
const RACER = `
const fs = require('node:fs'), net = require('node:net'), path = require('node:path')
const dir = process.argv[1]
const seen = new Set(), said = new Set()
const say = (what, p) => {
  const line = what + ' ' + path.relative(dir, p)
  if (!said.has(line)) { said.add(line); process.stdout.write(line + '\\n') }
}
const connectLoop = (p, alive) => {
  const attempt = () => {
    if (!alive()) return
    const c = net.connect({ path: p })
    c.on('error', () => { c.destroy(); setImmediate(attempt) })
    c.once('connect', () => {
      say('connected', p)
      c.once('data', () => { say('served', p); c.destroy() })
      c.once('close', () => setImmediate(attempt))
      c.write('{"op":"status"}\\n')
    })
  }
  attempt()
}
// a name is raced while it is there and is not a plain file (the config): not to starve the watcher
const racable = (p) => { try { return !fs.lstatSync(p).isFile() } catch { return false } }
const race = (name) => {
  const p = path.join(dir, name)
  if (seen.has(p)) return
  seen.add(p)
  process.stdout.write('seen ' + name + '\\n')
  const alive = () => racable(p)
  connectLoop(p, alive)
  connectLoop(path.join(p, 's'), alive)
  const inside = new Set()
  const list = () => {
    if (!alive()) return
    try { for (const e of fs.readdirSync(p)) if (!inside.has(e)) { inside.add(e); connectLoop(path.join(p, e), alive) } } catch {}
    setImmediate(list)
  }
  list()
}
fs.watch(dir, (_, name) => { if (name) race(String(name)) })
const poll = () => { for (const name of fs.readdirSync(dir)) race(name); setImmediate(poll) }
poll()
process.stdout.write('watching\\n')
`

interface Racer {
  readonly child: ChildProcess
  readonly lines: string[]
  readonly watching: Promise<void>
}

const startRacer = (dir: string): Racer => {
  const child = spawn(process.execPath, ['-e', RACER, dir], { ...NOBODY, cwd: '/', env: testEnv(), stdio: ['ignore', 'pipe', 'inherit'] })
  const lines: string[] = []
  const watching = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('the racer did not start watching')), HANG_MS)
    createInterface({ input: child.stdout }).on('line', (l) => {
      if (l === 'watching') {
        clearTimeout(timer)
        resolve()
      } else lines.push(l)
    })
    child.once('exit', (code) => reject(new Error(`the racer exited with code ${String(code)}`)))
  })
  return { child, lines, watching }
}

const stopRacer = async (r: Racer): Promise<readonly string[]> => {
  const exited = new Promise((resolve) => r.child.once('exit', resolve))
  r.child.kill('SIGKILL')
  await exited
  return r.lines
}

const cannotRace = (): string | undefined => {
  if (!isRoot()) return 'needs root, to run the server as root and the racer as nobody'
  const r = spawnSync(process.execPath, ['-e', '0'], { ...NOBODY, cwd: '/', env: testEnv(), stdio: 'ignore' })
  return r.status === 0 ? undefined : `the nobody user cannot run ${process.execPath}`
}

const ROUNDS = 10

describe('publishing a UNIX socket, with another user racing for it', { timeout: 300_000 }, () => {
  for (const workers of [undefined, 2] as const) {
    const rounds = workers === undefined ? ROUNDS : 3
    it(`${workers === undefined ? 'standalone' : 'supervised'}, umask 000, a world-writable folder: nobody reaches the listener or the control socket in ${rounds} starts`, async (t) => {
      const problem = cannotRace()
      if (problem !== undefined) {
        t.skip(problem)
        return
      }
      const reached: string[] = []
      const seen = new Set<string>()
      let sawTemporary = 0 // rounds in which the racer saw a name before the published ones: it raced
      for (let round = 0; round < rounds; round++) {
        await withDir(async (dir) => {
          const sock = path.join(dir, 'echo.sock')
          const control = path.join(dir, 'control.sock')
          const config = writeJson(path.join(dir, 'echo.json'), { bind: `unix://${sock}`, controlPath: control, ...(workers !== undefined ? { workers } : {}) })
          const racer = startRacer(dir)
          let server: ServerProcess | undefined
          try {
            await racer.watching
            server = new ServerProcess(['-c', 'umask 000 && exec "$0" "$@"', process.execPath, ECHO, config], { command: '/bin/sh' })
            const s = server
            await s.waitFor((l) => l.event === 'listening' && (workers === undefined || l.supervisor === true), 'listening')
            assert.equal(fs.statSync(sock).mode & 0o777, 0o660)
            assert.equal(fs.statSync(control).mode & 0o777, 0o600)
            const seenNow = (): string[] => racer.lines.filter((l) => l.startsWith('seen ')).map((l) => l.slice('seen '.length))
            await until(() => seenNow().includes('echo.sock') && seenNow().includes('control.sock'), 'the racer to see the published sockets')
            const lines = await stopRacer(racer)
            const names = seenNow()
            if (names.some((n) => !['echo.json', 'echo.sock', 'control.sock'].includes(n))) sawTemporary++
            for (const name of names) seen.add(name.replace(/^\..*/, '.<random>').replace(/^(echo|control)\.sock\.[0-9a-z]+$/, '$1.sock.<pid>'))
            const got = lines.filter((l) => !l.startsWith('seen '))
            if (got.length > 0) reached.push(`round ${round + 1}: ${got.join(', ')}`)
            await s.stop(s.pid)
            assert.deepStrictEqual(fs.readdirSync(dir), ['echo.json'], 'nothing is left in the folder')
          } finally {
            racer.child.kill('SIGKILL')
            server?.killAll()
          }
        }, 0o1777)
      }
      t.diagnostic(`names seen: ${[...seen].sort().join(', ')} (a temporary one in ${sawTemporary} of ${rounds} starts); nobody reached a socket in ${reached.length} of ${rounds} starts${reached.length > 0 ? `: ${reached.join('; ')}` : ''}`)
      assert.deepStrictEqual(reached, [])
    })
  }
})
