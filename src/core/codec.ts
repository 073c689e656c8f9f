/**
 * io-ts pieces shared by the codecs of what comes from outside (the config file, and the wire formats
 * in core/wire/: the environment a parent passes, the channel to a child, control requests and
 * replies): codecs whose names say in words what they expect, and a reporter that turns io-ts errors
 * into problems naming the key and what was expected. Pure.
 */
import * as E from 'fp-ts/Either'
import * as RA from 'fp-ts/ReadonlyArray'
import type * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import * as t from 'io-ts'
import { type Bind, type BindError, describeBindError, formatBind, parseBind } from './bind'

/** An environment, as a record (the shell passes process.env, or what it took from it). */
export type Env = Readonly<Record<string, string | undefined>>

/** A JSON object (not an array, not null). */
export const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> => typeof u === 'object' && u !== null && !Array.isArray(u)

/** A codec for values that are their own JSON form; its name is what a person is told was expected. */
export const described = <A>(expected: string, guard: (u: unknown) => u is A): t.Type<A, A> =>
  new t.Type<A, A>(expected, guard, (u, c) => (guard(u) ? t.success(u) : t.failure(u, c)), t.identity)

/** A value made on first use, and kept (codecs a process may never need, off its start-up). */
export const lazily = <A>(make: () => A): (() => A) => {
  let cell: { readonly value: A } | undefined
  return () => (cell ??= { value: make() }).value
}

/** A constant of a checked type (a default), checked as the module loads: a wrong one throws at once, in every test. */
export const checked = <A>(c: t.Type<A, unknown>, value: unknown): A => {
  const r = c.decode(value)
  if (E.isLeft(r)) throw new Error(`${show(value)} is not ${c.name}`)
  return r.right
}

/** A whole number from `min` to `max`. */
export const intBetween = (min: number, max: number, expected: string): t.Type<number, number> =>
  described(expected, (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= min && u <= max)

/** JSON.stringify typed as it behaves: undefined for undefined, a function or a symbol. */
const jsonText = (u: unknown): string | undefined => JSON.stringify(u)

/** A value as a person reads it in a message: JSON, cut short. */
export const show = (u: unknown): string => {
  const s = jsonText(u)
  return s === undefined ? String(u) : s.length > 80 ? `${s.slice(0, 77)}...` : s
}

/** One thing wrong with a value read from outside (a config, an environment variable): where, and what was expected. */
export interface Problem {
  /** The key, as a path into the value (`bind.1`, `listeners.0.fd`). */
  readonly key: string
  /** What is wrong and what was expected, e.g. `got "loud", expected one of fatal, error, ...`. */
  readonly message: string
}

/** Problems in one line: `key: message; key: message`. */
export const formatProblems = (problems: readonly Problem[]): string => problems.map((p) => `${p.key}: ${p.message}`).join('; ')

/** io-ts errors as problems; `key` names the value when it was decoded on its own (not inside an object). */
export const problemsOf =
  (key?: string) =>
  (errors: t.Errors): RNEA.ReadonlyNonEmptyArray<Problem> => {
    const problems = errors.map((err): Problem => {
      const path = err.context.map((c) => c.key).filter((k) => k !== '').join('.')
      const expected = err.context[err.context.length - 1]?.type.name ?? 'a valid value'
      const at = key === undefined ? path : path === '' ? key : `${key}.${path}`
      return { key: at === '' ? '(value)' : at, message: err.message ?? `got ${show(err.value)}, expected ${expected}` }
    })
    return RA.isNonEmpty(problems) ? problems : [{ key: key ?? '(value)', message: 'is invalid' }]
  }

export const BindFromString = new t.Type<Bind, string>(
  'an address: tcp://host:port, tcp://[ipv6]:port or unix:///absolute/path',
  (u): u is Bind => typeof u === 'object' && u !== null && '_tag' in u,
  (u, c) =>
    typeof u !== 'string'
      ? t.failure(u, c)
      : E.match(
          (e: BindError) => t.failure<Bind>(u, c, describeBindError(e)),
          (b: Bind) => t.success(b),
        )(parseBind(u)),
  formatBind,
)

/** A field that may be absent; its errors name the field, not the alternatives of a union. */
export const optional = <A, O>(c: t.Type<A, O>): t.Type<A | undefined, O | undefined> =>
  new t.Type<A | undefined, O | undefined>(
    c.name,
    (u): u is A | undefined => u === undefined || c.is(u),
    (u, ctx) => (u === undefined ? t.success(undefined) : c.validate(u, ctx)),
    (a) => (a === undefined ? undefined : c.encode(a)),
  )

/** A field that may be null; its errors name the field, not the alternatives of a union. */
export const nullable = <A, O>(c: t.Type<A, O>): t.Type<A | null, O | null> =>
  new t.Type<A | null, O | null>(
    `${c.name}, or null`,
    (u): u is A | null => u === null || c.is(u),
    (u, ctx) => (u === null ? t.success(null) : c.validate(u, ctx)),
    (a) => (a === null ? null : c.encode(a)),
  )

/** A list with at least one element. */
export const nonEmpty = <A, O>(c: t.Type<A, O>): t.Type<RNEA.ReadonlyNonEmptyArray<A>, readonly O[]> => {
  const list = t.readonlyArray(c)
  return new t.Type<RNEA.ReadonlyNonEmptyArray<A>, readonly O[]>(
    `a non-empty list of ${c.name}`,
    (u): u is RNEA.ReadonlyNonEmptyArray<A> => list.is(u) && RA.isNonEmpty(u),
    (u, ctx) => E.flatMap((as: readonly A[]) => (RA.isNonEmpty(as) ? t.success(as) : t.failure<RNEA.ReadonlyNonEmptyArray<A>>(u, ctx)))(list.validate(u, ctx)),
    (as) => list.encode(as),
  )
}

/**
 * A codec for a value that is its own JSON form, with the type written out where it is declared (an
 * API's own type): `c`, made of io-ts pieces, is checked by the compiler to decode to it.
 */
export const plain = <A>(name: string, c: { readonly is: (u: unknown) => u is A; readonly validate: t.Validate<unknown, A> }): t.Type<A, A> =>
  new t.Type<A, A>(name, c.is, c.validate, t.identity)

/** `true` only when `A` and `B` are the same type: each is assignable to the other, and they have the same keys (an optional key is not lost). */
type Same<A, B> = [A, keyof A] extends [B, keyof B] ? ([B, keyof B] extends [A, keyof A] ? true : false) : false

/**
 * `c`, checked by the compiler to have `O` as its JSON form exactly (no key more or less, none optional
 * that the codec requires, or the other way round): for an API's own JSON type, written out with its
 * docs where it is declared, beside the codec that reads it. `never` (a compile error) otherwise.
 */
export const withJsonType =
  <O>() =>
  <C extends t.Mixed>(c: Same<t.OutputOf<C>, O> extends true ? C : never): C =>
    c

/** A failure at `path` inside the value being decoded (a check across fields): problemsOf names that path. */
export const failAt = <A>(c: t.Context, path: readonly string[], value: unknown, message: string): t.Validation<A> =>
  t.failure(value, [...c, ...path.map((key, i): t.ContextEntry => ({ key, type: t.unknown, actual: i === path.length - 1 ? value : undefined }))], message)

/** JSON text, decoded to the value it holds; `notJson` says what a person is told when it is not JSON. */
export const jsonFromString = (notJson: (reason: string) => string): t.Type<unknown, string> =>
  new t.Type<unknown, string>(
    'JSON text',
    (_u): _u is unknown => true,
    (u, c) => {
      if (typeof u !== 'string') return t.failure(u, c, notJson('not a string'))
      try {
        const parsed: unknown = JSON.parse(u)
        return t.success(parsed)
      } catch (err) {
        return t.failure(u, c, notJson(err instanceof Error ? err.message : String(err)))
      }
    },
    (a) => JSON.stringify(a),
  )

/** The value of `key` in a JSON object, if it is one. */
export const fieldOf = (u: unknown, key: string): unknown => (isRecord(u) ? u[key] : undefined)
