/**
 * Config source: `serve` takes either the parsed JSON config or the path of a JSON file to read;
 * `validateConfig` also takes JSON text. A file that is not JSON is reported with the line and column
 * of the first mistake (found by jsonc-parser, loaded only then).
 */
import fs = require('node:fs')
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as TE from 'fp-ts/TaskEither'
import { type Config, type ConfigError, type ConfigJson, decodeConfig, describeConfigError } from '../core/config'
import type { Env } from '../core/codec'
import { messageOf } from './os/errno'

/** A path to a JSON file, or the config object itself. */
export type ConfigInput = string | ConfigJson

/**
 * The config could not be read: the file cannot be read (`ConfigUnreadable`: it does not exist, or this
 * user may not read it), or it is not JSON (`ConfigNotJson`, with where the first mistake is).
 *
 * @remarks
 * Nothing was bound or written. Fix the file (or the path) and start again; at a restart the old process
 * serves on.
 */
export type ConfigSourceError =
  /** The file at `path` cannot be read, and why. */
  | { readonly _tag: 'ConfigUnreadable'; readonly path: string; readonly reason: string }
  /** `path`: the file, or `(text)` for JSON text given as such. `line`, `column`: from 1. */
  | { readonly _tag: 'ConfigNotJson'; readonly path: string; readonly reason: string; readonly line: number; readonly column: number }

export const describeConfigSourceError = (e: ConfigSourceError): string => {
  switch (e._tag) {
    case 'ConfigUnreadable':
      return `cannot read the config file ${e.path}: ${e.reason}`
    case 'ConfigNotJson':
      return `${e.path === TEXT ? 'the config text' : `the config file ${e.path}`} is not valid JSON: ${e.reason} at line ${e.line}, column ${e.column}`
  }
}

/** How JSON given as text (not a file) is named in errors. */
export const TEXT = '(text)'

// what jsonc-parser's error codes mean, in words
const MISTAKES: Readonly<Record<string, string>> = {
  InvalidSymbol: 'a character that JSON does not allow here',
  InvalidNumberFormat: 'a malformed number',
  PropertyNameExpected: 'expected a key in double quotes (a trailing comma?)',
  ValueExpected: 'expected a value',
  ColonExpected: "expected ':' after the key",
  CommaExpected: "expected ',' between entries",
  CloseBraceExpected: "expected '}' to close the object",
  CloseBracketExpected: "expected ']' to close the list",
  EndOfFileExpected: 'expected nothing more after the config',
  InvalidCommentToken: 'a comment, which JSON does not allow',
  UnexpectedEndOfComment: 'a comment, which JSON does not allow',
  UnexpectedEndOfString: 'a string that is not closed',
  UnexpectedEndOfNumber: 'a number that ends too soon',
  InvalidUnicode: 'a malformed \\u escape',
  InvalidEscapeCharacter: 'a malformed escape',
  InvalidCharacter: 'a control character inside a string',
}

/** Where JSON.parse's complaint is, and what it is, as a person reads it. */
const locate = (text: string, err: unknown): { readonly reason: string; readonly line: number; readonly column: number } => {
  // eslint-disable-next-line @typescript-eslint/no-require-imports -- only on this error path
  const jsonc = require('jsonc-parser')
  const errors: import('jsonc-parser').ParseError[] = []
  jsonc.parse(text, errors, { disallowComments: true, allowTrailingComma: false, allowEmptyContent: false })
  const first = errors[0]
  const offset = first?.offset ?? text.length
  const before = text.slice(0, offset).split('\n')
  const code = first === undefined ? undefined : jsonc.printParseErrorCode(first.error)
  return {
    reason: code === undefined ? messageOf(err) : (MISTAKES[code] ?? code),
    line: before.length,
    column: (before[before.length - 1]?.length ?? 0) + 1,
  }
}

/** Parses JSON text; `path` names it in the error. */
export const parseJson = (text: string, path: string): E.Either<ConfigSourceError, unknown> =>
  E.tryCatch(
    (): unknown => JSON.parse(text),
    (err): ConfigSourceError => ({ _tag: 'ConfigNotJson', path, ...locate(text, err) }),
  )

export const readJsonFile = (path: string): E.Either<ConfigSourceError, unknown> =>
  pipe(
    E.tryCatch(
      () => fs.readFileSync(path, 'utf8'),
      (err): ConfigSourceError => ({ _tag: 'ConfigUnreadable', path, reason: messageOf(err) }),
    ),
    E.flatMap((text) => parseJson(text, path)),
  )


/** Reads synchronously: it is start-up, and a successor's start-up is on the handoff's critical path. */
export const readConfigSource = (input: ConfigInput): TE.TaskEither<ConfigSourceError, unknown> =>
  typeof input !== 'string' ? TE.right(input) : TE.fromIOEither(() => readJsonFile(input))

/** Why a config is not valid: the file cannot be read, it is not JSON (with line and column), or its values are wrong (every problem, each naming its key). */
export type ConfigValidationError = ConfigSourceError | ConfigError

/**
 * A {@link ConfigValidationError} in the words `serve` prints it with: each problem with its key, or where the JSON is wrong.
 *
 * @param e - the error
 */
export const describeConfigValidationError = (e: ConfigValidationError): string => (e._tag === 'InvalidConfig' ? describeConfigError(e) : describeConfigSourceError(e))

const isJsonText = (s: string): boolean => /^\s*[[{]/.test(s)

/**
 * A config as `serve` decodes it, from JSON text, a file path, or an already-parsed value. A string is
 * JSON text when its first character other than white space is `{` or `[` (a config is a JSON object,
 * and no sensible file path starts so); any other string is a file path.
 */
export const loadConfig = (input: unknown, env: Env): E.Either<ConfigValidationError, Config> =>
  decodeParsed(typeof input !== 'string' ? E.right(input) : isJsonText(input) ? parseJson(input, TEXT) : readJsonFile(input), env)

/** A config from the file at `file`, whatever its name looks like. */
export const loadConfigFile = (file: string, env: Env): E.Either<ConfigValidationError, Config> => decodeParsed(readJsonFile(file), env)

const decodeParsed = (json: E.Either<ConfigSourceError, unknown>, env: Env): E.Either<ConfigValidationError, Config> =>
  E.flatMap((j: unknown): E.Either<ConfigValidationError, Config> => decodeConfig(j, env))(json)
