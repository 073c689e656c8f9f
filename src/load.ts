/**
 * The package's main file (dist/lib/index.js): loads the library's bundle (dist/lib/library.js). In a
 * process a server started with a cache folder (the preload names it: docs/ARCHITECTURE.md, "Compile
 * cache"), it compiles the bundle with `vm.Script` and a V8 code cache, saved once the process serves
 * (`save`, called by the library after ready), so it holds every function the start-up ran, not only
 * the top level that Node's own compile cache keeps: the next successor skips compiling them all.
 * Elsewhere, and when the bundle is not a file beside this one (an application bundled with esbuild or
 * webpack, which then bundles library.js from the `require` below; a library.js there that does not
 * start with the build's banner is not ours), it is a plain `require`.
 * The cache file is named by Node's version, the architecture and the bundle file's identity (device,
 * inode, size, modification time): a bundle replaced or edited never meets code compiled from another
 * (V8 itself checks only the source's length). Hashing the content instead would load node:crypto,
 * about 5 ms on Node 24, which is most of what the cache saves. At most KEEP cache files stay.
 * Anything that goes wrong with the cache only means compiling afresh.
 */
import fs = require('node:fs')
import nodeModule = require('node:module')
import path = require('node:path')
import vm = require('node:vm')
import { codeCacheDirOn, LIBRARY_CODE_KEY, type LibraryCode } from './core/early'

const KEEP = 8
const NAMED = /^library-.+\.v8$/
const file = path.join(__dirname, 'library.js')
/** The build's first line of its bundles (package.json): a library.js that is not ours is never run. */
const BANNER = '/* uninterruptible: bundle */'

/** The newest KEEP cache files stay: each release (and Node version) run in this folder leaves one. */
const prune = (folder: string): void => {
  const files = fs
    .readdirSync(folder)
    .filter((f) => NAMED.test(f))
    .map((f) => ({ f, at: fs.statSync(path.join(folder, f), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.at - a.at)
  for (const { f } of files.slice(KEEP)) fs.rmSync(path.join(folder, f), { force: true })
}

const readOr = <A>(read: () => A): A | undefined => {
  try {
    return read()
  } catch {
    return undefined
  }
}

/** Runs the bundle through the code cache in `dir`; `undefined` when the bundle is not a file here. */
const cached = (dir: string): LibraryCode | undefined => {
  const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false })
  const source = st === undefined ? undefined : readOr(() => fs.readFileSync(file, 'utf8'))
  if (st === undefined || source?.startsWith(BANNER) !== true) return undefined
  const cacheFile = path.join(dir, `library-${process.version}-${process.arch}-${st.dev}-${st.ino}-${st.size}-${st.mtimeNs}.v8`)
  const cachedData = readOr(() => fs.readFileSync(cacheFile))
  const script = new vm.Script(nodeModule.wrap(source), { filename: file, ...(cachedData !== undefined ? { cachedData } : {}) })
  const used = cachedData !== undefined && !script.cachedDataRejected
  let saved = used
  // once, after ready: a process that compiled the library itself leaves its code for the next one
  const save = (): void => {
    if (saved) return
    saved = true
    const temp = `${cacheFile}.${process.pid}`
    try {
      fs.writeFileSync(temp, script.createCachedData(), { mode: 0o600, flag: 'wx' })
      fs.renameSync(temp, cacheFile)
      prune(dir)
    } catch {
      fs.rmSync(temp, { force: true })
    }
  }
  const wrapper: unknown = script.runInThisContext()
  if (typeof wrapper === 'function') Reflect.apply(wrapper, module.exports, [module.exports, require, module, file, __dirname])
  return { state: used ? 'cached' : 'compiled', save }
}

const dir = codeCacheDirOn(globalThis)
const code = dir === undefined ? undefined : cached(dir)
if (code === undefined) {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- the bundle beside this file, or inside an application's bundle
  const library: unknown = require('./library.js')
  module.exports = library
}
Reflect.set(globalThis, LIBRARY_CODE_KEY, code ?? { state: 'uncached', save: () => undefined } satisfies LibraryCode)
