/** The matching rules of `uninterruptible run` (src/core/listenMatch.ts), as a table. */
import assert from 'node:assert/strict'
import { describe, it } from 'node:test'
import { type Binds, tcp, unix } from '../../src/core/bind'
import { type ListenMatch, type ListenRequest, matchListen } from '../../src/core/listenMatch'

const port = (p: number, host?: string): ListenRequest => ({ _tag: 'Tcp', port: p, host })
const served = (index: number): ListenMatch => ({ _tag: 'Served', index })
const taken = (index: number): ListenMatch => ({ _tag: 'Taken', index })

const LOCAL: Binds = [tcp('127.0.0.1', 3000)]
const TWO: Binds = [tcp('127.0.0.1', 3000), unix('/run/app.sock')]
const V6: Binds = [tcp('::1', 3000)]
const ANY: Binds = [tcp('0.0.0.0', 3000)]
const HOST: Binds = [tcp('10.0.0.5', 3000), tcp('127.0.0.1', 3000)]

const rows: readonly (readonly [string, Binds, ListenRequest, ReadonlySet<number>, ListenMatch['_tag'], ListenMatch?])[] = [
  ['listen(3000) meets tcp://127.0.0.1:3000', LOCAL, port(3000), new Set(), 'Served', served(0)],
  ["listen(3000, '0.0.0.0') meets tcp://127.0.0.1:3000", LOCAL, port(3000, '0.0.0.0'), new Set(), 'Served', served(0)],
  ["listen(3000, '::') meets tcp://127.0.0.1:3000", LOCAL, port(3000, '::'), new Set(), 'Served', served(0)],
  ["listen({ port: 3000, host: '127.0.0.1' })", LOCAL, port(3000, '127.0.0.1'), new Set(), 'Served', served(0)],
  ["listen(3000, 'localhost') meets 127.0.0.1", LOCAL, port(3000, 'localhost'), new Set(), 'Served', served(0)],
  ["listen(3000, 'localhost') meets ::1", V6, port(3000, 'localhost'), new Set(), 'Served', served(0)],
  ["listen(3000, '127.0.0.1') meets tcp://0.0.0.0:3000? no: a host names one address", ANY, port(3000, '127.0.0.1'), new Set(), 'Unmatched'],
  ["listen(3000, '10.0.0.5') picks the address with that host", HOST, port(3000, '10.0.0.5'), new Set(), 'Served', served(0)],
  ["listen(3000, 'localhost') picks the loopback one", HOST, port(3000, 'localhost'), new Set(), 'Served', served(1)],
  ['listen(3001) matches nothing', LOCAL, port(3001), new Set(), 'Unmatched'],
  ['listen(0) matches nothing: any free port', LOCAL, port(0), new Set(), 'Unmatched'],
  ["listen('/run/app.sock') meets unix:///run/app.sock", TWO, { _tag: 'Unix', path: '/run/app.sock' }, new Set(), 'Served', served(1)],
  ["listen('/run/other.sock') matches nothing", TWO, { _tag: 'Unix', path: '/run/other.sock' }, new Set(), 'Unmatched'],
  ['a second listen(3000) finds it taken', LOCAL, port(3000), new Set([0]), 'Taken', taken(0)],
  ['a second listen(3000) takes the next address with port 3000', HOST, port(3000), new Set([0]), 'Served', served(1)],
  ['a handle is the application’s own', LOCAL, { _tag: 'Handle' }, new Set(), 'Unmatched'],
]

describe('matchListen', () => {
  for (const [name, binds, request, used, tag, exact] of rows) {
    it(name, () => {
      const m = matchListen(binds, request, used)
      assert.equal(m._tag, tag)
      if (exact !== undefined) assert.deepStrictEqual(m, exact)
      if (m._tag === 'Unmatched') assert.ok(m.why.length > 0)
    })
  }
})
