/**
 * The package as a consumer gets it: `npm pack`ed, unpacked into a fresh project whose dependencies are
 * links to this repository's (no network), type-checked by this repository's tsc (strict, nodenext,
 * skipLibCheck off, so the package's own .d.ts files are checked too), and loaded and run by node.
 * Misuse must not compile either: a second project holds calls that tsc must refuse, each marked with
 * the error it must get.
 */
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import * as fs from 'node:fs'
import { isBuiltin } from 'node:module'
import * as net from 'node:net'
import * as path from 'node:path'
import { after, before, describe, it } from 'node:test'
import { promisify } from 'node:util'
import { portOf, ROOT, ServerProcess, tempDir, testEnv, writeJson } from '../support/harness'

const run = promisify(execFile)
const TSC = path.join(ROOT, 'node_modules/typescript/bin/tsc')

interface Outcome {
  readonly code: number
  readonly stdout: string
  readonly stderr: string
}

/** Runs a command to its exit; a non-zero exit is an outcome, not a throw. */
const exec = async (file: string, args: readonly string[], cwd: string): Promise<Outcome> => {
  try {
    const { stdout, stderr } = await run(file, args, { cwd, env: testEnv(), maxBuffer: 16 * 1024 * 1024 })
    return { code: 0, stdout, stderr }
  } catch (err) {
    const e = err as { code?: unknown; stdout?: unknown; stderr?: unknown }
    if (typeof e.code !== 'number') throw err
    return { code: e.code, stdout: String(e.stdout), stderr: String(e.stderr) }
  }
}

/** The package a bare specifier names: `fp-ts/function` is `fp-ts`, `@scope/name/x` is `@scope/name`. */
const packageOf = (specifier: string): string => specifier.split('/').slice(0, specifier.startsWith('@') ? 2 : 1).join('/')

/**
 * Every module specifier a declaration file imports, re-exports or references. Doc comments are left
 * out: their examples import the package itself and the application's libraries (express).
 */
const specifiersOf = (text: string): string[] => {
  const dts = text.replace(/\/\*[\s\S]*?\*\//g, '')
  return [
    ...[...dts.matchAll(/\b(?:from|import)\s*\(?\s*(['"])([^'"]+)\1/g)].map((m) => m[2] ?? ''),
    ...[...dts.matchAll(/<reference types="([^"]+)"/g)].map((m) => `@types/${m[1] ?? ''}`),
  ]
}

/**
 * Follows relative imports from `entry` through the unpacked package: every declaration file reached
 * must be there. Returns the packages the declarations import.
 */
const declarationImports = (pkgDir: string, entry: string): Set<string> => {
  const packages = new Set<string>()
  const seen = new Set<string>()
  const visit = (file: string, from: string): void => {
    if (seen.has(file)) return
    seen.add(file)
    assert.ok(fs.existsSync(file), `${path.relative(pkgDir, file)} (imported by ${from}) is not in the package`)
    for (const spec of specifiersOf(fs.readFileSync(file, 'utf8'))) {
      if (spec.startsWith('.')) {
        const base = path.resolve(path.dirname(file), spec)
        visit(fs.existsSync(`${base}.d.ts`) || !fs.existsSync(base) ? `${base}.d.ts` : path.join(base, 'index.d.ts'), path.relative(pkgDir, file))
      } else if (!isBuiltin(spec)) packages.add(packageOf(spec))
    }
  }
  visit(path.join(pkgDir, entry), 'package.json')
  return packages
}

interface PackageJson {
  readonly types: string
  readonly exports: { readonly '.': { readonly types: string; readonly default: string } }
  readonly dependencies: Readonly<Record<string, string>>
}

/** Unpacks the tarball as node_modules/uninterruptible of `project`, linking `links` to this repository's installs. */
const install = async (tarball: string, project: string, links: Iterable<string>): Promise<string> => {
  const pkgDir = path.join(project, 'node_modules/uninterruptible')
  fs.mkdirSync(pkgDir, { recursive: true })
  const untar = await exec('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1'], project)
  assert.equal(untar.code, 0, untar.stderr)
  for (const name of links) {
    const target = path.join(ROOT, 'node_modules', name)
    assert.ok(fs.existsSync(target), `${name} is not installed in the repository`)
    const link = path.join(project, 'node_modules', name)
    fs.mkdirSync(path.dirname(link), { recursive: true })
    fs.symlinkSync(target, link, 'dir')
  }
  writeJson(path.join(project, 'package.json'), { name: 'consumer', version: '1.0.0', private: true, type: 'commonjs' })
  return pkgDir
}

const writeFiles = (dir: string, files: Readonly<Record<string, string>>): void => {
  for (const [name, text] of Object.entries(files)) fs.writeFileSync(path.join(dir, name), text)
}

/** Uses of the public API as users write them: each must compile. */
const GOOD: Readonly<Record<string, string>> = {
  'serve.ts': `import { serve } from 'uninterruptible'

void serve({ bind: 'tcp://127.0.0.1:0', drainTimeoutMs: 5000, readyTimeoutMs: 1000, socketMode: '0660' }, async (socket) => {
  socket.write('x')
})
void serve('config.json', (socket, { id, log }) => {
  log.info({ id }, 'accepted')
  socket.end()
})
`,
  'http.ts': `import { createServer } from 'node:http'
import { serveHttp, serveHttpTask } from 'uninterruptible'

void serveHttp({ bind: ['tcp://127.0.0.1:0', 'unix:///tmp/x.sock'] }, (req, res) => res.end())
const bind: readonly string[] = ['tcp://127.0.0.1:0']
export const task = serveHttpTask({ bind, idleGraceMs: 500, probationMs: 0 }, createServer((req, res) => res.end()))
`,
  'task.ts': `import type { Socket } from 'node:net'
import { pipe } from 'fp-ts/function'
import * as TE from 'fp-ts/TaskEither'
import { describeServeError, type ServeError, serveTask, type Stopped } from 'uninterruptible'

interface MyError {
  readonly _tag: 'MyError'
}
const handle = (socket: Socket): TE.TaskEither<MyError, void> =>
  TE.tryCatch(
    () => new Promise<void>((resolve) => socket.end('x', resolve)),
    (): MyError => ({ _tag: 'MyError' }),
  )
const started: TE.TaskEither<ServeError, Stopped> = serveTask<MyError>({ bind: 'tcp://127.0.0.1:0', logLevel: 'silent' }, handle)
const program = pipe(
  started,
  TE.match(
    (error) => {
      console.error(describeServeError(error))
      return 1
    },
    (stopped) => stopped.code,
  ),
)
void program().then((code) => process.exit(code))
`,
  'config.ts': `import { type ConfigInput, type ConfigJson, type Handler, type LogLevel, type ServeConfig, serve } from 'uninterruptible'

const level: LogLevel = 'warn'
const config: ConfigJson = {
  bind: 'unix:///tmp/app.sock',
  startCommand: 'node server.js',
  pidfilePath: 'app.pid',
  logPath: 'app.log',
  logLevel: level,
  drainTimeoutMs: 30_000,
  readyTimeoutMs: 10_000,
  restartSignal: 'SIGUSR2',
  socketMode: '0600',
  idleGraceMs: 1_000,
  probationMs: 0,
}
const timeout = Number(process.env.DRAIN_MS ?? '5000')
const fromEnv: ServeConfig = { ...config, drainTimeoutMs: timeout }
const literal = { bind: ['tcp://127.0.0.1:0'], drainTimeoutMs: 5000 } as const satisfies ServeConfig
const inputs: readonly ConfigInput[] = ['config.json', config, fromEnv, literal, JSON.parse('{}') as ConfigJson]
const handler: Handler = (socket) => {
  socket.end()
}
for (const input of inputs) void serve(input, handler)
`,
}

/** Misuse: tsc must report exactly the error each marked line names, and nothing else. */
const BAD = `import { serve, serveHttp, type ServeConfig } from 'uninterruptible'

const h = (): void => undefined
void serve({ bind: 'tcp://127.0.0.1:0', drainTimeoutMs: '5000' }, h) // TS2322
void serve({ bind: 'tcp://127.0.0.1:0', drainTimeout: 5000 }, h) // TS2561
void serve({ bind: 8080 }, h) // TS2322
void serve({ bind: 'tcp://127.0.0.1:0', logLevel: 'verbose' }, h) // TS2322
void serveHttp({ bind: 'tcp://127.0.0.1:0', socketMode: 0o660 }, (req, res) => res.end()) // TS2322
export const c: ServeConfig = { readyTimeoutMs: 1000, restartSignal: 'SIGTERM' } // TS2322
`

/** "line:TScode" for each marked line of a source. */
const expectedErrors = (source: string): string[] =>
  source.split('\n').flatMap((line, i) => [...line.matchAll(/\/\/ (TS\d+)$/g)].map((m) => `${i + 1}:${m[1] ?? ''}`))

/** "line:TScode" for each error tsc reported in `file`; throws on errors elsewhere. */
const reportedErrors = (output: string, file: string): string[] =>
  output
    .split('\n')
    .filter((l) => l.includes(': error TS'))
    .map((l) => {
      const m = /^(.+)\((\d+),\d+\): error (TS\d+):/.exec(l)
      assert.ok(m?.[1] !== undefined && path.basename(m[1]) === file, `an error outside ${file}: ${l}`)
      return `${m[2] ?? ''}:${m[3] ?? ''}`
    })

const tsconfig = (files: readonly string[]): unknown => ({
  compilerOptions: {
    target: 'ES2022',
    lib: ['ES2022'],
    module: 'nodenext',
    moduleResolution: 'nodenext',
    types: ['node'],
    strict: true,
    exactOptionalPropertyTypes: true,
    noUncheckedIndexedAccess: true,
    noEmit: true,
    skipLibCheck: false,
  },
  files,
})

describe('the packed package, as a consumer project uses it', { timeout: 120_000 }, () => {
  let dir = ''
  let tarball = ''
  /** The tarball unpacked on its own, and its package.json. */
  let unpacked = ''
  let pkg: PackageJson = { types: '', exports: { '.': { types: '', default: '' } }, dependencies: {} }
  /** What a project needs linked to type-check against the package: its dependencies, and Node's types. */
  const typeDeps = (): string[] => [...Object.keys(pkg.dependencies), '@types/node']

  before(async () => {
    dir = tempDir()
    const packed = await exec('npm', ['pack', '--json', '--ignore-scripts', '--offline', '--pack-destination', dir], ROOT)
    assert.equal(packed.code, 0, `npm pack: ${packed.stderr}`)
    const [info] = JSON.parse(packed.stdout) as readonly { readonly filename: string }[]
    assert.ok(info !== undefined, packed.stdout)
    tarball = path.join(dir, info.filename)
    unpacked = await install(tarball, path.join(dir, 'contents'), [])
    pkg = JSON.parse(fs.readFileSync(path.join(unpacked, 'package.json'), 'utf8')) as PackageJson
  })
  after(() => fs.rmSync(dir, { recursive: true, force: true }))

  it('ships the bundle and every declaration file its types import; those import only dependencies', () => {
    assert.equal(pkg.types, pkg.exports['.'].types)
    assert.ok(fs.existsSync(path.join(unpacked, pkg.exports['.'].default)), `${pkg.exports['.'].default} is not in the package`)
    const imported = declarationImports(unpacked, pkg.exports['.'].types)
    const undeclared = [...imported].filter((name) => !(name in pkg.dependencies) && name !== '@types/node')
    assert.deepEqual(undeclared, [], 'declaration files import packages a consumer does not get')
    assert.ok(imported.has('fp-ts') && imported.has('io-ts'), `the declarations import ${[...imported].join(', ')}`)
  })

  it('type-checks code that uses the public API with plain values (strict, skipLibCheck off)', async () => {
    const project = path.join(dir, 'good')
    await install(tarball, project, typeDeps())
    writeFiles(project, GOOD)
    writeJson(path.join(project, 'tsconfig.json'), tsconfig(Object.keys(GOOD)))
    const tsc = await exec(process.execPath, [TSC, '-p', project, '--pretty', 'false'], project)
    assert.equal(tsc.stdout + tsc.stderr, '', 'tsc reports nothing')
    assert.equal(tsc.code, 0)
  })

  it('refuses misuse: wrong value types, unknown keys', async () => {
    const project = path.join(dir, 'bad')
    await install(tarball, project, typeDeps())
    writeFiles(project, { 'bad.ts': BAD })
    writeJson(path.join(project, 'tsconfig.json'), tsconfig(['bad.ts']))
    const tsc = await exec(process.execPath, [TSC, '-p', project, '--pretty', 'false'], project)
    assert.notEqual(tsc.code, 0, 'tsc must fail')
    assert.deepEqual(reportedErrors(tsc.stdout, 'bad.ts'), expectedErrors(BAD), tsc.stdout)
  })

  for (const kind of ['commonjs', 'module'] as const) {
    it(`${kind === 'module' ? 'an ES module' : 'a CommonJS'} consumer (nodenext) imports uninterruptible/lifecycle and /supervisor, type-checks and runs the README's example test`, async () => {
      const project = path.join(dir, `reducers-${kind}`)
      await install(tarball, project, typeDeps())
      writeJson(path.join(project, 'package.json'), { name: 'consumer', version: '1.0.0', private: true, type: kind })
      writeFiles(project, {
        'lifecycle.test.ts': fs.readFileSync(path.join(ROOT, 'examples/lifecycle.test.ts'), 'utf8'),
        'supervisor.test.ts': `import assert from 'node:assert/strict'
import { it } from 'node:test'
import { type Event, initial, replay, respawnDelay } from 'uninterruptible/supervisor'

it('a supervisor of 2 starts a generation of 2, and serves once both are ready', () => {
  const events: Event[] = [{ _tag: 'Start' }, { _tag: 'WorkerReady', id: 1, pid: 101 }, { _tag: 'WorkerReady', id: 2, pid: 102 }]
  const run = replay(events, initial(2))
  assert.equal(run.effects.filter((e) => e._tag === 'SpawnWorker').length, 2)
  assert.equal(run.state._tag, 'Running')
  assert.equal(respawnDelay(1), 100)
})
`,
      })
      const config = tsconfig(['lifecycle.test.ts', 'supervisor.test.ts']) as { compilerOptions: Record<string, unknown> }
      writeJson(path.join(project, 'tsconfig.json'), { ...config, compilerOptions: { ...config.compilerOptions, noEmit: false, outDir: 'out' } })
      const tsc = await exec(process.execPath, [TSC, '-p', project, '--pretty', 'false'], project)
      assert.equal(tsc.stdout + tsc.stderr, '', 'tsc reports nothing')
      assert.equal(tsc.code, 0)
      // a test run of its own, not a child of this one (NODE_TEST_CONTEXT would make it report to us in binary)
      const run = await exec('/usr/bin/env', ['-u', 'NODE_TEST_CONTEXT', process.execPath, '--test', '--test-reporter=tap', 'out/lifecycle.test.js', 'out/supervisor.test.js'], project)
      assert.equal(run.code, 0, run.stdout + run.stderr)
      assert.match(run.stdout, /# pass 5\b/)
      assert.match(run.stdout, /# fail 0\b/)
    })
  }

  it('runs from the package with only the dependencies the bundle requires', async () => {
    const project = path.join(dir, 'runtime')
    // What the bundle loads at run time: node builtins, pino, and jsonc-parser (only for a config that is
    // not JSON); fp-ts and io-ts are inside it.
    // the main file loads the bundle beside it (src/load.ts)
    const main = path.join(unpacked, pkg.exports['.'].default)
    const bundle = [main, path.join(path.dirname(main), 'library.js')].map((f) => fs.readFileSync(f, 'utf8')).join('\n')
    const required = new Set(
      [...bundle.matchAll(/\brequire\("([^"]+)"\)/g)]
        .map((m) => m[1] ?? '')
        .filter((s) => !isBuiltin(s) && !s.startsWith('./'))
        .map(packageOf),
    )
    assert.deepEqual([...required].sort(), ['jsonc-parser', 'pino'])
    await install(tarball, project, required)

    // It loads, and fp-ts and io-ts cannot be found from here, so the run below does not use them from outside.
    const load = await exec(
      process.execPath,
      ['-e', "require('uninterruptible'); for (const m of ['fp-ts', 'io-ts']) try { require.resolve(m); process.exit(2) } catch {}"],
      project,
    )
    assert.equal(load.code, 0, load.stderr)
    writeFiles(project, {
      'main.js': `const { serve } = require('uninterruptible')
void serve({ bind: 'tcp://127.0.0.1:0', drainTimeoutMs: 5000 }, (socket) => new Promise((resolve) => socket.write('x', resolve)))
`,
    })
    const server = new ServerProcess(['main.js'], { cwd: project })
    try {
      const port = portOf(await server.event(server.pid, 'listening'))
      const reply = await new Promise<string>((resolve, reject) => {
        let text = ''
        net
          .connect(port, '127.0.0.1')
          .setEncoding('utf8')
          .on('data', (d: string) => (text += d))
          .once('end', () => resolve(text))
          .once('error', reject)
      })
      assert.equal(reply, 'x')
      await server.stop(server.pid)
      assert.deepEqual(await server.closed, { code: 0, signal: null }, server.tail())
    } finally {
      server.killAll()
    }
  })
})
