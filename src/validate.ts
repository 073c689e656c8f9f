/**
 * Validating a config without starting a server: what a deploy pipeline asks before `uninterruptible
 * restart`. The same decoding, and the same messages, as `serve` (see shell/configSource.ts). Three forms:
 * an Either, a TaskEither, and one that throws.
 */
import * as E from 'fp-ts/Either'
import type * as TE from 'fp-ts/TaskEither'
import type { Config } from './core/config'
import { type ConfigValidationError, describeConfigValidationError, loadConfig } from './shell/configSource'

export { type ConfigValidationError, describeConfigValidationError } from './shell/configSource'

/** Options of `validateConfig`, `validateConfigTask` and `assertConfig`. */
export interface ValidateOptions {
  /** The environment for `PORT` and `PID_FILE` (the fallbacks of `bind` and `pidfilePath`); `process.env` by default. */
  readonly env?: Readonly<Record<string, string | undefined>>
}

/**
 * Decodes a config as `serve` would, without starting anything: `Right` with the decoded config (the
 * defaults applied), or `Left` with why it is not valid, every problem at once. `input` is JSON text, a
 * file path, or an already-parsed value. A string is JSON text when its first character other than
 * white space is `{` or `[` (a config is a JSON object, and no sensible file path starts so); any other
 * string is a file path.
 *
 * @param input - JSON text, a file path, or an already-parsed value
 * @param options - the environment for the `PORT` and `PID_FILE` fallbacks
 * @returns `Right` with the decoded config, or `Left` with why it is not valid
 *
 * @example
 * A deploy step that checks the new config before it restarts the server:
 * ```ts
 * import { describeConfigValidationError, validateConfig } from 'uninterruptible'
 *
 * const result = validateConfig('/etc/app/config.json')
 * if (result._tag === 'Left') {
 *   console.error(describeConfigValidationError(result.left)) // invalid config (2 problems): ...
 *   process.exit(1)
 * }
 * ```
 */
export const validateConfig = (input: unknown, options: ValidateOptions = {}): E.Either<ConfigValidationError, Config> => loadConfig(input, options.env ?? process.env)

/**
 * `validateConfig` as a TaskEither, for fp-ts pipelines.
 *
 * @param input - JSON text, a file path, or an already-parsed value
 * @param options - the environment for the `PORT` and `PID_FILE` fallbacks
 */
export const validateConfigTask =
  (input: unknown, options: ValidateOptions = {}): TE.TaskEither<ConfigValidationError, Config> =>
  () =>
    Promise.resolve(validateConfig(input, options))

/** Thrown by `assertConfig`: its message is what `serve` would print, `error` the tagged reason. */
export class InvalidConfigError extends Error {
  /** `InvalidConfigError`. */
  override readonly name = 'InvalidConfigError'
  /**
   * An error whose message is what `serve` would print for `error`.
   *
   * @param error - why the config is not valid
   */
  constructor(
    /** Why the config is not valid: the tagged reason. */
    readonly error: ConfigValidationError,
  ) {
    super(describeConfigValidationError(error))
  }
}

/**
 * The decoded config, or a throw of `InvalidConfigError` naming every problem.
 *
 * @param input - JSON text, a file path, or an already-parsed value
 * @param options - the environment for the `PORT` and `PID_FILE` fallbacks
 * @returns the decoded config
 */
export const assertConfig = (input: unknown, options: ValidateOptions = {}): Config =>
  E.getOrElse((e: ConfigValidationError): Config => {
    throw new InvalidConfigError(e)
  })(validateConfig(input, options))
