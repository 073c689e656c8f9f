/**
 * The environment of a process a server starts (a successor, a worker): this process's own, the folder
 * it runs in, what it inherits (core/wire/inherit.ts), the preload in NODE_OPTIONS (src/preload.ts), and the
 * compile cache's folder when there is one (compileCache.ts).
 */
import fs = require('node:fs')
import path = require('node:path')
import * as O from 'fp-ts/Option'
import { COMPILE_CACHE_ENV, PRELOAD_ENV, preloadOption, withPreload } from '../../core/early'

/**
 * The preload beside this code: `preload.js` next to the bundle (dist/lib), or at the top of the compiled
 * tree (dist/src) for this module's own compiled copy. Looked up at each start: a release folder removed
 * since this process started leaves the child without it (it then listens from the library's load on).
 */
const preloadFile = (name: string): O.Option<string> => {
  for (const file of [path.join(__dirname, name), path.join(__dirname, '../../', name)]) {
    if (fs.existsSync(file)) return O.some(file)
  }
  return O.none
}

export interface ChildEnvironment {
  /** The folder the child starts in (its PWD). */
  readonly cwd: string
  /** The inheritance variables (inheritEnv). */
  readonly inherit: Readonly<Record<string, string>>
  readonly compileCache: O.Option<string>
  /**
   * What the child runs first: the library's preload, or (an unchanged app under `run`) the app adapter,
   * which preloads too and then serves the app's listen() calls (src/app.ts). Default: the preload.
   */
  readonly preload?: 'library' | 'app'
  /** More variables for the child. */
  readonly extra?: Readonly<Record<string, string>>
}

export const childEnvironment = (c: ChildEnvironment): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = { ...process.env, PWD: c.cwd, ...c.inherit, ...c.extra }
  const preload = preloadFile(c.preload === 'app' ? 'app.js' : 'preload.js')
  if (O.isSome(preload)) {
    const option = preloadOption(preload.value)
    env.NODE_OPTIONS = withPreload(process.env.NODE_OPTIONS, option)
    env[PRELOAD_ENV] = option
  }
  if (O.isSome(c.compileCache)) env[COMPILE_CACHE_ENV] = c.compileCache.value
  return env
}
