/**
 * Loaded into every test file's process (`--import` in package.json's test:run). `node --test` runs each
 * file in a child that reports its results over its stdout, a pipe, and `--test-force-exit` ends that
 * child with process.exit(): whatever the pipe had not taken yet was lost, and the runner counted fewer
 * tests, without a failure (seen in CI: the last 15 verdicts of test/unit/lifecycle.test.ts). Blocking
 * writes leave nothing behind at the exit.
 */
if (process.env.NODE_TEST_CONTEXT !== undefined) {
  const handle: unknown = Reflect.get(process.stdout, '_handle')
  const setBlocking: unknown = typeof handle === 'object' && handle !== null ? Reflect.get(handle, 'setBlocking') : undefined
  if (typeof setBlocking === 'function') Reflect.apply(setBlocking, handle, [true])
}
export {}
