/**
 * Alternating rounds: round i of one server and round i of the other run back to back, the first of
 * each pair alternating, so drift over a run falls on both alike.
 */

export const alternate = async <R>(rounds: number, a: () => Promise<R>, b: () => Promise<R>): Promise<{ a: R[]; b: R[] }> => {
  const as: R[] = []
  const bs: R[] = []
  for (let i = 0; i < rounds; i++) {
    if (i % 2 === 0) {
      bs.push(await b())
      as.push(await a())
    } else {
      as.push(await a())
      bs.push(await b())
    }
  }
  return { a: as, b: bs }
}

