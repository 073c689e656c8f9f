/**
 * What the API gives applications, with real processes: hooks into a process's life (and their order
 * across a restart), the generation in handlers and serverInfo(), the application's own logger, a
 * Fastify app's shutdown, serveTask never claiming to exit, and the refusals: a second serve call, a
 * node:cluster worker.
 */
import assert from 'node:assert/strict'
import * as http from 'node:http'
import * as net from 'node:net'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import { DIST, LogFile, portOf, ServerProcess, testEnv, withDir, writeJson } from '../support/harness'

const fixture = (name: string): string => path.join(DIST, `test/fixtures/${name}.js`)
const LIB = path.join(DIST, 'lib/index.js')

/** The first line a client reads from a raw server. */
const firstLine = (port: number): Promise<string> =>
  new Promise((resolve, reject) => {
    const s = net.connect(port, '127.0.0.1')
    let got = ''
    s.setEncoding('utf8')
    s.on('data', (d: string) => (got += d))
    s.on('error', reject)
    s.on('close', () => resolve(got.split('\n')[0] ?? ''))
  })

const get = (port: number, urlPath = '/'): Promise<{ status: number; body: string }> =>
  new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath, agent: false }, (res) => {
        let body = ''
        res.setEncoding('utf8')
        res.on('data', (d: string) => (body += d))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
      })
      .on('error', reject)
  })

describe('hooks, generation and serverInfo', { timeout: 120_000 }, () => {
  it('onListening, onDraining and onExit run in order in each generation; handlers and serverInfo() know the generation', () =>
    withDir(async (dir) => {
      const config = writeJson(path.join(dir, 'c.json'), { bind: 'tcp://127.0.0.1:0', pidfilePath: path.join(dir, 'c.pid'), probationMs: 100, readyTimeoutMs: 60_000 })
      const server = new ServerProcess([fixture('hooks'), config])
      try {
        const port = portOf(await server.event(server.pid, 'listening'))
        const info1 = { pid: server.pid, generation: 1, mode: 'standalone' }
        await server.waitForText((l) => l === `listening ${JSON.stringify(info1)}`, 'onListening in generation 1')
        assert.equal(await firstLine(port), `generation 1, serverInfo ${JSON.stringify(info1)}`)

        process.kill(server.pid, 'SIGUSR1')
        const successor = Number((await server.event(server.pid, 'successor-ready')).successorPid)
        await server.event(server.pid, 'exit')
        // the hooks write to stderr, the log to stdout: two pipes, read in whatever order they arrive
        await server.waitForText((l) => l === `exit ${JSON.stringify({ ...info1, code: 0 })}`, 'onExit in generation 1')
        const info2 = { pid: successor, generation: 2, mode: 'standalone' }
        await server.waitForText((l) => l === `listening ${JSON.stringify(info2)}`, 'onListening in generation 2')
        const ofOld = server.text.filter((l) => l.includes(`"pid":${server.pid}`))
        assert.deepStrictEqual(ofOld, [
          `listening ${JSON.stringify(info1)}`,
          `draining ${JSON.stringify({ ...info1, reason: 'handoff' })}`,
          `exit ${JSON.stringify({ ...info1, code: 0 })}`,
        ])
        // the exit hook ran before the process said it exits
        const exitLine = server.lines.findIndex((l) => l.pid === server.pid && l.event === 'exit')
        assert.ok(exitLine >= 0)
        assert.equal(await firstLine(port), `generation 2, serverInfo ${JSON.stringify(info2)}`)

        await server.stop(successor)
        assert.ok(server.text.includes(`draining ${JSON.stringify({ ...info2, reason: 'stop' })}`))
        assert.ok(server.text.includes(`exit ${JSON.stringify({ ...info2, code: 0 })}`))
      } finally {
        server.killAll()
      }
    }))

  it("logs through the application's own pino logger when given one, with the generation on every line", () =>
    withDir(async (dir) => {
      const appLog = path.join(dir, 'app.log')
      const config = writeJson(path.join(dir, 'c.json'), { bind: 'tcp://127.0.0.1:0', probationMs: 0, readyTimeoutMs: 60_000 })
      const server = new ServerProcess([fixture('hooks'), config], { env: testEnv({ APP_LOG: appLog }) })
      const log = new LogFile(appLog)
      try {
        const listening = await log.waitFor((l) => l.event === 'listening', 'listening in the app log')
        assert.equal(listening.app, 'hooks-fixture')
        assert.equal(listening.generation, 1)
        process.kill(server.pid, 'SIGUSR1')
        const ready = await log.waitFor((l) => l.event === 'successor-ready', 'successor-ready')
        const second = await log.waitFor((l) => l.pid === Number(ready.successorPid) && l.event === 'listening', 'the successor in the app log')
        assert.equal(second.generation, 2)
        assert.equal(second.app, 'hooks-fixture')
        process.kill(Number(ready.successorPid), 'SIGTERM')
        await log.waitFor((l) => l.pid === Number(ready.successorPid) && l.event === 'exit', 'the successor to exit')
        await server.closed
        assert.deepStrictEqual(server.lines, [], 'nothing of ours on stdout')
      } finally {
        log.killAll(server.pid)
      }
    }))

  it('serveTask completes with the code and logs "stopped", never "exit": the program decides', () =>
    withDir(async (dir) => {
      const config = writeJson(path.join(dir, 'c.json'), { bind: 'tcp://127.0.0.1:0' })
      const script = `require(${JSON.stringify(LIB)}).serveTask(${JSON.stringify(config)}, (s) => { s.write('hi') })().then((r) => process.stderr.write('completed ' + JSON.stringify(r) + '\\n'))`
      const server = new ServerProcess(['-e', script])
      try {
        await server.event(server.pid, 'listening')
        process.kill(server.pid, 'SIGTERM')
        const stopped = await server.event(server.pid, 'stopped')
        assert.equal(stopped.code, 0)
        await server.waitForText((l) => l === 'completed {"_tag":"Right","right":{"code":0}}', 'the task to complete')
        assert.equal((await server.closed).code, 0, 'the program ends by itself once nothing is left to do')
        assert.ok(!server.eventsOf(server.pid).includes('exit'))
      } finally {
        server.killAll()
      }
    }))
})

describe('refusals', { timeout: 120_000 }, () => {
  it('a second serve call is refused with the reason, and the first serves on', () =>
    withDir(async (dir) => {
      const config = writeJson(path.join(dir, 'c.json'), { bind: 'tcp://127.0.0.1:0' })
      const server = new ServerProcess([fixture('hooks'), config], { env: testEnv({ SERVE_TWICE: '1' }) })
      try {
        const port = portOf(await server.event(server.pid, 'listening'))
        await server.waitForText((l) => l.includes('serve was called a second time in this process: a process serves one config (the first call goes on serving)'), 'the refusal')
        assert.match(await firstLine(port), /^generation 1/)
        assert.equal((await server.stop(server.pid)).code, 0)
      } finally {
        server.killAll()
      }
    }))

  it('serve in a node:cluster worker is refused with what to do instead', () =>
    withDir(async (dir) => {
      const config = writeJson(path.join(dir, 'c.json'), { bind: 'tcp://127.0.0.1:0' })
      const server = new ServerProcess([fixture('clusterWorker'), config])
      try {
        await server.waitForText((l) => l === 'worker exited 1', 'the worker to exit 1')
        assert.ok(server.text.some((l) => l.includes('serve was called in a node:cluster worker') && l.includes('set `workers` in the config')), server.text.join('\n'))
      } finally {
        server.killAll()
      }
    }))
})

describe('HTTP apps', { timeout: 120_000 }, () => {
  it("a Fastify app: served across a restart; the old process's http.Server gets 'close' and Fastify's onClose hooks run before it exits", () =>
    withDir(async (dir) => {
      const config = writeJson(path.join(dir, 'c.json'), { bind: 'tcp://127.0.0.1:0', probationMs: 100, readyTimeoutMs: 60_000 })
      const server = new ServerProcess([fixture('fastifyApp'), config])
      try {
        const port = portOf(await server.event(server.pid, 'listening'))
        assert.deepStrictEqual(await get(port), { status: 200, body: JSON.stringify({ pid: server.pid }) })
        process.kill(server.pid, 'SIGUSR1')
        const successor = Number((await server.event(server.pid, 'successor-ready')).successorPid)
        assert.equal((await server.event(server.pid, 'exit')).code, 0)
        // stderr is a pipe of its own: its last line may be read after the log's exit line
        await server.waitForText((l) => l === `fastify onClose in ${server.pid}`, 'the old generation to close the app')
        // in this order (Fastify's own close emits 'close' once more)
        const steps = [...new Set(server.text.filter((l) => l.endsWith(` in ${server.pid}`)))]
        assert.deepStrictEqual(steps, [`draining (handoff) in ${server.pid}`, `http close in ${server.pid}`, `fastify onClose in ${server.pid}`])
        assert.deepStrictEqual(await get(port), { status: 200, body: JSON.stringify({ pid: successor }) })
        await server.stop(successor)
        await server.waitForText((l) => l === `fastify onClose in ${successor}`, 'the last generation to close the app')
      } finally {
        server.killAll()
      }
    }))

  it('a request listener that throws: that request gets a 500, the error is logged, the server serves on', () =>
    withDir(async (dir) => {
      const config = writeJson(path.join(dir, 'c.json'), { bind: 'tcp://127.0.0.1:0' })
      const script = `require(${JSON.stringify(LIB)}).serveHttp(${JSON.stringify(config)}, (req, res) => { if (req.url === '/throw') throw new Error('listener bug'); res.end('fine') })`
      const server = new ServerProcess(['-e', script])
      try {
        const port = portOf(await server.event(server.pid, 'listening'))
        assert.equal((await get(port, '/throw')).status, 500)
        const failed = await server.event(server.pid, 'request-failed')
        assert.equal(failed.url, '/throw')
        assert.match(failed.msg, /request listener threw: listener bug/)
        assert.deepStrictEqual(await get(port), { status: 200, body: 'fine' })
        await server.stop(server.pid)
      } finally {
        server.killAll()
      }
    }))
})
