/**
 * Which Node versions the library runs on (README, "Node versions"): 20.11 and later. 22, 24 and 26 are
 * the versions users run and CI tests; 20 is past its end of life but still tested. Pure.
 */

export const MINIMUM_NODE = { major: 20, minor: 11 } as const

/**
 * This Node.js is older than the library supports (20.11).
 *
 * @remarks
 * Run a newer Node.js: 22, 24 or 26 are recommended.
 */
export interface UnsupportedNode {
  /** Tags this error in {@link ServeError}. */
  readonly _tag: 'UnsupportedNode'
  /** The version this process runs, as `process.version` says it. */
  readonly version: string
}

export const describeUnsupportedNode = (e: UnsupportedNode): string =>
  `this is Node.js ${e.version}; the library needs Node.js ${MINIMUM_NODE.major}.${MINIMUM_NODE.minor} or later (22, 24 or 26 recommended)`

/** `undefined` when `version` (as process.version says it: "v22.23.5") is supported. */
export const checkNodeVersion = (version: string): UnsupportedNode | undefined => {
  const m = /^v?(\d+)\.(\d+)/.exec(version)
  if (m?.[1] === undefined || m[2] === undefined) return { _tag: 'UnsupportedNode', version }
  const major = Number(m[1])
  const minor = Number(m[2])
  const ok = major > MINIMUM_NODE.major || (major === MINIMUM_NODE.major && minor >= MINIMUM_NODE.minor)
  return ok ? undefined : { _tag: 'UnsupportedNode', version }
}
