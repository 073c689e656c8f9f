/**
 * A list of every member of a string union, checked by the compiler: the union is the type the API
 * names (it reads well in the reference), the list is what the code walks (what a config may say).
 * Pure.
 */

/**
 * `list`, as given, if it names every member of `U`: `allOf<'a' | 'b'>()(['a'])` does not compile (it
 * names what is missing), nor does a list with a string that is not a member.
 */
export const allOf =
  <U extends string>() =>
  <const L extends readonly U[]>(list: L & ([Exclude<U, L[number]>] extends [never] ? unknown : { readonly missing: Exclude<U, L[number]> })): L =>
    list
