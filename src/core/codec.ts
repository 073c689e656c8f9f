/**
 * io-ts pieces shared by the codecs of what comes from outside (the config file, the environment a
 * parent passes, control requests): codecs whose names say in words what they expect, and a reporter
 * that turns io-ts errors into problems naming the key and what was expected. Pure.
 */
import * as E from 'fp-ts/Either'
import * as RA from 'fp-ts/ReadonlyArray'
import type * as RNEA from 'fp-ts/ReadonlyNonEmptyArray'
import * as t from 'io-ts'
import { type Bind, type BindError, describeBindError, formatBind, parseBind } from './bind'

/** A codec for values that are their own JSON form; its name is what a person is told was expected. */
export const described = <A>(expected: string, guard: (u: unknown) => u is A): t.Type<A, A> =>
  new t.Type<A, A>(expected, guard, (u, c) => (guard(u) ? t.success(u) : t.failure(u, c)), t.identity)

/** A whole number from `min` to `max`. */
export const intBetween = (min: number, max: number, expected: string): t.Type<number, number> =>
  described(expected, (u): u is number => typeof u === 'number' && Number.isInteger(u) && u >= min && u <= max)

/** A value as a person reads it in a message: JSON, cut short. */
export const show = (u: unknown): string => {
  const s = JSON.stringify(u) as string | undefined
  return s === undefined ? String(u) : s.length > 80 ? `${s.slice(0, 77)}...` : s
}

export interface Problem {
  /** The key, as a path into the value (`bind.1`, `listeners.0.fd`). */
  readonly key: string
  /** What is wrong and what was expected, e.g. `got "loud", expected one of fatal, error, ...`. */
  readonly message: string
}

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
