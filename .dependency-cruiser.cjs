/**
 * The layer rule (docs/ARCHITECTURE.md, "Layers"): imports only point down,
 *   core  <-  shell  <-  modes  <-  entry points (src/*.ts, src/cli/)
 * and there is no import cycle anywhere in src/. `npm run deps` checks it; CI runs it with lint.
 */
module.exports = {
  forbidden: [
    {
      name: 'no-cycles',
      severity: 'error',
      comment: 'An import cycle: modules that depend on each other cannot be understood, or tested, one at a time.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'core-is-pure',
      severity: 'error',
      comment: 'src/core is the pure functional core: it imports only itself and the fp-ts / io-ts libraries.',
      from: { path: '^src/core/' },
      to: { pathNot: ['^src/core/', '^node_modules/(fp-ts|io-ts)/', '^(node:)?net$'] },
    },
    {
      name: 'shell-below-modes',
      severity: 'error',
      comment: 'src/shell (the OS boundary) may use src/core, never src/modes or the entry points.',
      from: { path: '^src/shell/' },
      to: { path: '^src/', pathNot: ['^src/(core|shell)/'] },
    },
    {
      name: 'modes-below-entry-points',
      severity: 'error',
      comment: 'src/modes may use src/core and src/shell, never the entry points (src/*.ts, src/cli/).',
      from: { path: '^src/modes/' },
      to: { path: '^src/', pathNot: ['^src/(core|shell|modes)/'] },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    exclude: { path: '^(dist|node_modules)/' },
  },
}
