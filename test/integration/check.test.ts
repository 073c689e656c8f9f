/**
 * `uninterruptible check CONFIG [--json]` (src/modes/check.ts) run as the built command against real
 * files: exit 0 for a good config, 1 with every problem named by its key, 2 on a usage error; and the
 * command a newcomer meets first: --help and --version.
 */
import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as net from 'node:net'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { type Certs, makeCerts, makeServerCert, opensslMissing } from '../support/certs'
import { ECHO, ROOT, runCli, ServerProcess, tempDir, writeJson } from '../support/harness'

interface Report {
  readonly ok: boolean
  readonly problems: readonly { readonly key: string; readonly message: string }[]
}

describe('uninterruptible check', { skip: opensslMissing() }, () => {
  let dir: string
  let certs: Certs
  before(() => {
    dir = tempDir()
    certs = makeCerts(fs.mkdtempSync(path.join(dir, 'certs-')))
  })
  after(() => fs.rmSync(dir, { recursive: true, force: true }))

  const config = (name: string, c: Record<string, unknown>): string => writeJson(path.join(dir, `${name}.json`), c)
  const good = (): Record<string, unknown> => ({
    bind: ['tcp://127.0.0.1:0', `unix://${dir}/app.sock`],
    pidfilePath: path.join(dir, 'app.pid'),
    controlPath: path.join(dir, 'control.sock'),
    logPath: path.join(dir, 'app.log'),
    tls: { certPath: certs.server.cert, keyPath: certs.server.key, caPath: certs.ca },
    startCommand: `exec ${process.execPath} server.js`,
  })
  const check = async (file: string): Promise<{ code: number | null; text: string; report: Report }> => {
    const text = await runCli(['check', file])
    const json = await runCli(['check', file, '--json'])
    assert.equal(json.code, text.code, 'the same verdict with --json')
    return { code: text.code, text: text.stdout + text.stderr, report: JSON.parse(json.stdout) as Report }
  }

  it('a good config: exit 0, nothing bound or written', async () => {
    const r = await check(config('good', good()))
    assert.equal(r.code, 0, r.text)
    assert.match(r.text, /good\.json: ok \(standalone; tcp:\/\/127\.0\.0\.1:0, unix:\/\/.*app\.sock; control .*control\.sock\)/)
    assert.deepStrictEqual(r.report, { file: path.join(dir, 'good.json'), ok: true, problems: [] })
    assert.deepStrictEqual(fs.readdirSync(dir).filter((f) => !f.endsWith('.json') && !f.startsWith('certs-')), [])
  })

  const cases: readonly (readonly [string, (c: Record<string, unknown>) => Record<string, unknown>, string, RegExp])[] = [
    ['a missing cert file', (c) => ({ ...c, tls: { certPath: path.join(dir, 'nope.pem'), keyPath: certs.server.key } }), 'tls.certPath', /cannot read .*nope\.pem: the file does not exist/],
    ['a key that does not match its cert', (c) => ({ ...c, tls: { certPath: certs.server.cert, keyPath: certs.client.key } }), 'tls.keyPath', /does not match tls\.certPath/],
    ['a pidfile folder that does not exist', (c) => ({ ...c, pidfilePath: path.join(dir, 'no-such-folder/app.pid') }), 'pidfilePath', /the folder .*no-such-folder does not exist; create it first/],
    ['a 120-byte UNIX path', (c) => ({ ...c, bind: `unix:///${'x'.repeat(119)}` }), 'bind', /it is 120 bytes long; the limit is 101/],
    ['a host that does not resolve', (c) => ({ ...c, bind: 'tcp://no-such-host.invalid:80' }), 'bind', /does not resolve/],
    ['a startCommand whose program does not exist', (c) => ({ ...c, startCommand: 'FOO=1 exec no-such-program-x server.js' }), 'startCommand', /its program no-such-program-x is not found/],
  ]
  for (const [name, change, key, message] of cases) {
    it(`${name}: exit 1, naming ${key}`, async () => {
      const r = await check(config(name.replace(/\W+/g, '-'), change(good())))
      assert.equal(r.code, 1, r.text)
      assert.equal(r.report.ok, false)
      assert.equal(r.report.problems.length, 1, JSON.stringify(r.report.problems))
      assert.equal(r.report.problems[0]?.key, key)
      assert.match(r.report.problems[0].message, message)
      assert.match(r.text, new RegExp(`1 problem:\\n  - ${key.replace('.', '\\.')}: `))
    })
  }

  it('every problem at once', async () => {
    const other = makeServerCert(path.dirname(certs.ca), 'other', 'localhost')
    const r = await check(
      config('all', {
        ...good(),
        tls: { certPath: certs.server.cert, keyPath: other.key },
        pidfilePath: path.join(dir, 'no-such-folder/app.pid'),
        logPath: path.join(dir, 'no-such-folder/app.log'),
        startCommand: 'no-such-program-x',
      }),
    )
    assert.equal(r.code, 1)
    assert.deepStrictEqual(r.report.problems.map((p) => p.key).sort(), ['logPath', 'pidfilePath', 'startCommand', 'tls.keyPath'])
  })

  it('a config that is not valid: its problems, by key; a file that is not JSON: line and column', async () => {
    const r = await check(config('invalid', { bind: 'localhost:6789', logLevel: 'verbose' }))
    assert.equal(r.code, 1)
    assert.deepStrictEqual(r.report.problems.map((p) => p.key), ['bind', 'logLevel'])
    const broken = path.join(dir, 'broken.json')
    fs.writeFileSync(broken, '{\n  "bind": "tcp://127.0.0.1:0",\n}\n')
    const b = await check(broken)
    assert.equal(b.code, 1)
    assert.match(b.report.problems[0]?.message ?? '', /is not valid JSON: .* at line 3, column 1/)
  })

  it('a usage error: exit 2 with the usage', async () => {
    for (const args of [['check'], ['check', 'a.json', 'b.json'], ['check', '--nope', 'a.json']]) {
      const r = await runCli(args)
      assert.equal(r.code, 2, args.join(' '))
      assert.match(r.stderr, /usage: uninterruptible/)
    }
  })
})

describe('the command a newcomer meets', () => {
  it('--help, -h and help print the usage and exit 0; --version prints the package version', async () => {
    for (const flag of ['--help', '-h', 'help']) {
      const r = await runCli([flag])
      assert.equal(r.code, 0, flag)
      assert.match(r.stdout, /^usage: uninterruptible restart\|status\|stop/)
      assert.match(r.stdout, /check CONFIG \[--json\]/)
    }
    const v = await runCli(['--version'])
    assert.equal(v.code, 0)
    assert.equal(v.stdout.trim(), (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version)
  })
})

describe("the README's walk-through", () => {
  it('npm start (the echo example, as configured), then `uninterruptible status examples/echo.json` answers', async (t) => {
    const example = JSON.parse(fs.readFileSync(path.join(ROOT, 'examples/echo.json'), 'utf8')) as { bind: string; controlPath?: string }
    assert.ok(example.controlPath !== undefined, 'the example config sets a controlPath')
    const port = Number(/:(\d+)$/.exec(example.bind)?.[1])
    const busy = await new Promise<boolean>((resolve) => {
      const c = net
        .connect(port, '127.0.0.1')
        .once('connect', () => {
          c.destroy()
          resolve(true)
        })
        .once('error', () => resolve(false))
    })
    if (busy || fs.existsSync(example.controlPath)) {
      t.skip(`port ${port} or ${example.controlPath} is in use on this machine (the example's fixed address)`)
      return
    }
    const cwd = tempDir() // the example's pidfile is relative: it goes here
    const server = new ServerProcess([ECHO, path.join(ROOT, 'examples/echo.json')], { cwd })
    try {
      await server.event(server.pid, 'listening')
      const status = await runCli(['status', path.join(ROOT, 'examples/echo.json')])
      assert.equal(status.code, 0, status.stderr)
      assert.match(status.stdout, new RegExp(`^pid +${server.pid} \\(standalone\\)`))
      const stop = await runCli(['stop', path.join(ROOT, 'examples/echo.json')])
      assert.equal(stop.code, 0, stop.stderr)
      assert.equal((await server.exited).code, 0)
    } finally {
      server.killAll()
      fs.rmSync(cwd, { recursive: true, force: true })
    }
  })
})
