/**
 * The `run` command's half of the command line (src/cli/run.ts: the library itself), loaded by main.ts
 * only for that command, typed as it is (see shell/os/require.d.ts for why `require` needs this).
 */
declare namespace NodeJS {
  interface Require {
    (id: './run.js'): typeof import('./run')
  }
}
