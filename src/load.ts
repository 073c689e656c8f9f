/**
 * The package's main file (dist/lib/index.js): loads the library's bundle (dist/lib/library.js) as
 * Node's CommonJS loader would, with a V8 code cache when the server that started this process named a
 * cache folder (docs/ARCHITECTURE.md, "Compile cache"). The cache is written once the process serves
 * (`save`, called by the library after ready), so it holds every function the start-up ran, not only
 * the top level that Node's own compile cache keeps: the next successor skips compiling them all.
 * The cache file is named by Node's version, the architecture and the bundle file's identity (device,
 * inode, size, modification time): a bundle replaced or edited never meets code compiled from another
 * (V8 itself checks only the source's length). Hashing the content instead would load node:crypto,
 * about 5 ms on Node 24, which is most of what the cache saves. At most KEEP cache files stay.
 * Anything that goes wrong only means compiling afresh.
 */
import fs = require('node:fs')
import nodeModule = require('node:module')
import path = require('node:path')
import vm = require('node:vm')
import { codeCacheDirOn, LIBRARY_CODE_KEY, type LibraryCode } from './core/early'

const file = path.join(__dirname, 'library.js')
const KEEP = 8
const NAMED = /^library-.+\.v8$/

const dir = codeCacheDirOn(globalThis)
const cacheName = (): string | undefined => {
  const st = fs.statSync(file, { bigint: true, throwIfNoEntry: false })
  return st === undefined ? undefined : `library-${process.version}-${process.arch}-${st.dev}-${st.ino}-${st.size}-${st.mtimeNs}.v8`
}
const name = dir === undefined ? undefined : cacheName()
const cacheFile = dir === undefined || name === undefined ? undefined : path.join(dir, name)
const source = fs.readFileSync(file, 'utf8')

const readCache = (): Buffer | undefined => {
  if (cacheFile === undefined) return undefined
  try {
    return fs.readFileSync(cacheFile)
  } catch {
    return undefined
  }
}

const cachedData = readCache()
const script = new vm.Script(nodeModule.wrap(source), { filename: file, ...(cachedData !== undefined ? { cachedData } : {}) })
const used = cachedData !== undefined && !script.cachedDataRejected

/** The newest KEEP cache files stay: each release (and Node version) run in this folder leaves one. */
const prune = (folder: string): void => {
  const files = fs
    .readdirSync(folder)
    .filter((f) => NAMED.test(f))
    .map((f) => ({ f, at: fs.statSync(path.join(folder, f), { throwIfNoEntry: false })?.mtimeMs ?? 0 }))
    .sort((a, b) => b.at - a.at)
  for (const { f } of files.slice(KEEP)) fs.rmSync(path.join(folder, f), { force: true })
}

// once, after ready: a process that compiled the library itself leaves its code for the next one
let saved = false
const save = (): void => {
  if (saved || dir === undefined || cacheFile === undefined || used) return
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
const code: LibraryCode = { state: used ? 'cached' : cacheFile !== undefined ? 'compiled' : 'uncached', save }
Reflect.set(globalThis, LIBRARY_CODE_KEY, code)

const wrapper: unknown = script.runInThisContext()
if (typeof wrapper === 'function') Reflect.apply(wrapper, module.exports, [module.exports, require, module, file, __dirname])
