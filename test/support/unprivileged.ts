/**
 * The echo server run as an unprivileged user: `nobody` when the tests run as root, ourselves otherwise.
 * `nobody` may not be able to read the checkout (a clone in a 0700 folder, such as any `mktemp -d`), so
 * as root the server runs from a copy: the built echo example with everything it loads (the library,
 * pino, fp-ts, io-ts) bundled by esbuild into one file, in a fresh folder under os.tmpdir() that every
 * user may read. The copy is built on first use, once per test file; `remove` deletes it. Nor may
 * `nobody` always run this Node (one fetched by .ci/node.sh lives under root's 0700 home): the folder
 * then gets a link to it too (`node`).
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as os from 'node:os'
import * as path from 'node:path'
import { buildSync } from 'esbuild'
import { ECHO, ServerProcess, type SpawnOptions, testEnv } from './harness'

const NOBODY = { uid: 65534, gid: 65534 } as const

export const isRoot = (): boolean => process.getuid?.() === 0

/** Builds the one-file copy of the echo server in a folder every user may read; returns the file. */
const bundle = (): string => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'uni-nobody-'))
  fs.chmodSync(dir, 0o755)
  const file = path.join(dir, 'echo.js')
  buildSync({ entryPoints: [ECHO], bundle: true, platform: 'node', target: 'node20', format: 'cjs', outfile: file, logLevel: 'warning' })
  fs.chmodSync(file, 0o644)
  return file
}

/** Whether `nobody` can run this Node where it is. */
const nobodyRuns = (node: string): boolean => spawnSync(node, ['-e', '0'], { ...NOBODY, cwd: '/', stdio: 'ignore' }).status === 0

/**
 * A Node binary `nobody` may run, the same as this one: its own path when `nobody` can reach it, else a
 * link to it (a copy across file systems) in `dir`, a folder every user may read.
 */
export const nodeForNobody = (dir: string): string => {
  if (!isRoot() || nobodyRuns(process.execPath)) return process.execPath
  const node = path.join(dir, 'node')
  if (!fs.existsSync(node)) {
    try {
      fs.linkSync(process.execPath, node)
    } catch {
      fs.copyFileSync(process.execPath, node)
    }
    fs.chmodSync(node, 0o755)
  }
  return node
}

/** Tried as `nobody`: reads the file named by its argument, and on failure prints only the error code. */
const READ_CHECK = 'try { require("node:fs").accessSync(process.argv[1], 4) } catch (e) { process.stderr.write(String(e.code)); process.exit(1) }'

/** Why `nobody` cannot run `file` with `node` (an unreadable TMPDIR), or undefined if it can. */
const cannotRun = (node: string, file: string): string | undefined => {
  const r = spawnSync(node, ['-e', READ_CHECK, file], {
    ...NOBODY,
    cwd: path.dirname(file),
    env: testEnv(),
    stdio: ['ignore', 'ignore', 'pipe'],
    encoding: 'utf8',
  })
  if (r.error !== undefined) return `the nobody user cannot run ${node}: ${r.error.message}`
  if (r.status !== 0)
    return `the nobody user cannot read ${file} (${r.stderr.trim().slice(0, 200)}): ${os.tmpdir()} or a folder above it is not readable by every user; set TMPDIR to one that is`
  return undefined
}

export class Unprivileged {
  private built: { readonly file: string; readonly node: string; readonly problem: string | undefined } | undefined

  private copy(): { readonly file: string; readonly node: string; readonly problem: string | undefined } {
    if (this.built === undefined) {
      const file = bundle()
      const node = nodeForNobody(path.dirname(file))
      this.built = { file, node, problem: cannotRun(node, file) }
    }
    return this.built
  }

  /** Why the echo server cannot run unprivileged here, or undefined if it can. As root, builds the copy. */
  problem(): string | undefined {
    return isRoot() ? this.copy().problem : undefined
  }

  /** Starts the echo server as `nobody` from the copy when we are root, or as ourselves from dist/ otherwise. */
  echo(configFile: string, options: Omit<SpawnOptions, 'uid' | 'gid'> = {}): ServerProcess {
    if (!isRoot()) return ServerProcess.echo(configFile, options)
    const { file, node, problem } = this.copy()
    if (problem !== undefined) throw new Error(problem)
    return new ServerProcess([file, configFile], { cwd: path.dirname(file), command: node, ...options, ...NOBODY })
  }

  /** The Node binary the copy runs with as `nobody` (root only). */
  node(): string {
    const { node, problem } = this.copy()
    if (problem !== undefined) throw new Error(problem)
    return node
  }

  /** The copy's file, for a wrapper that switches to `nobody` itself (root only). */
  file(): string {
    const { file, problem } = this.copy()
    if (problem !== undefined) throw new Error(problem)
    return file
  }

  /** Deletes the copy, if one was built. */
  remove(): void {
    if (this.built !== undefined) fs.rmSync(path.dirname(this.built.file), { recursive: true, force: true })
    this.built = undefined
  }
}
