/**
 * The `run` command's half of the command line (src/cli/run.ts: the library itself), loaded by main.ts
 * only for that command, typed as it is (see shell/os/require.d.ts for why `require` needs this).
 */
declare namespace NodeJS {
  // an overload merged into Node's own Require: a function type cannot merge
  interface Require {
    // eslint-disable-next-line @typescript-eslint/prefer-function-type
    (id: './run.js'): typeof import('./run')
  }
}
