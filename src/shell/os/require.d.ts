/**
 * `require` of each module the library loads on first use (lazy.ts, spawn.ts, inspector.ts,
 * compileCache.ts, configSource.ts, src/preload.ts), typed as that module is: Node's typings give
 * `any` for every `require`. An overload for one string literal comes before @types/node's
 * `(id: string): any`. Types only: nothing here runs, and nothing is emitted.
 */
declare namespace NodeJS {
  interface Require {
    (id: 'pino'): typeof import('pino')
    (id: 'jsonc-parser'): typeof import('jsonc-parser')
    (id: 'node:http'): typeof import('node:http')
    (id: 'node:https'): typeof import('node:https')
    (id: 'node:tls'): typeof import('node:tls')
    (id: 'node:crypto'): typeof import('node:crypto')
    (id: 'node:dns/promises'): typeof import('node:dns/promises')
    (id: 'node:readline'): typeof import('node:readline')
    (id: 'node:os'): typeof import('node:os')
    (id: 'node:inspector'): typeof import('node:inspector')
    /** A CommonJS require gets the cluster object itself, the typings' default export. */
    (id: 'node:cluster'): typeof import('node:cluster').default
    /** Node 22.1 and later have the compile cache; the typings of Node 20, which this library also runs on, do not. */
    (id: 'node:module'): typeof import('node:module') & { readonly enableCompileCache?: (dir: string) => unknown; readonly flushCompileCache?: () => void }
    (id: './child'): typeof import('./child')
  }
}
