/**
 * The supervisor's relay of a worker's output (shell/log/relay.ts): whatever pieces the bytes arrive
 * in, each line comes out whole and in order; a line past the limit comes in pieces, each ended; a last
 * line without a newline gets one.
 */
import assert from 'node:assert/strict'
import { Readable } from 'node:stream'
import { describe, it } from 'node:test'
import fc from 'fast-check'
import { relayLines } from '../../src/shell/log/relay'

const relay = async (chunks: readonly string[], max: number): Promise<string[]> => {
  const out: string[] = []
  await relayLines(Readable.from(chunks.map((c) => Buffer.from(c))), (l) => out.push(Buffer.from(l).toString()), max)
  return out
}

/** `text` cut at the given places (sorted, deduplicated, within the text). */
const cut = (text: string, at: readonly number[]): string[] => {
  const points = [...new Set(at.map((n) => n % (text.length + 1)))].sort((a, b) => a - b)
  return [...points, text.length].map((end, i) => text.slice(i === 0 ? 0 : points[i - 1], end)).filter((c) => c.length > 0)
}

describe('relayLines', () => {
  it('lines no longer than the limit come out whole and in order, however the bytes were cut', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.string({ unit: fc.constantFrom('a', 'b', ' ', '{') , maxLength: 12 }), { maxLength: 20 }), fc.array(fc.nat(), { maxLength: 10 }), async (lines, at) => {
        const text = lines.map((l) => `${l}\n`).join('')
        assert.deepStrictEqual(await relay(cut(text, at), 12), lines.map((l) => `${l}\n`))
      }),
    )
  })

  const table: readonly (readonly [string, readonly string[], readonly string[]])[] = [
    ['a last line without a newline gets one', ['one\ntw', 'o'], ['one\n', 'two\n']],
    ['a line past the limit comes in pieces of the limit, each ended', ['abcdefghij\nk'], ['abcd\n', 'efgh\n', 'ij\n', 'k\n']],
    ['a line exactly the limit is whole', ['abcd\n'], ['abcd\n']],
    ['empty lines are lines', ['\n\nx\n'], ['\n', '\n', 'x\n']],
    ['nothing gives nothing', [], []],
  ]
  for (const [what, chunks, expected] of table) {
    it(what, async () => {
      assert.deepStrictEqual(await relay(chunks, 4), expected)
    })
  }
})
