import assert from 'node:assert/strict'
import * as net from 'node:net'
import { describe, it } from 'node:test'
import { trackConnections } from '../../src/shell/protocol/connections'

describe('trackConnections', () => {
  it('counts real sockets from accept to close, in any closing order, and destroys exactly the open ones', async () => {
    let opened = 0
    let closed = 0
    const accepted: net.Socket[] = []
    const ids: number[] = []
    const tracker = trackConnections(
      { opened: () => (opened += 1), closed: () => (closed += 1) },
      (socket, id) => {
        accepted.push(socket)
        ids.push(id)
      },
    )
    const server = net.createServer(tracker.onConnection)
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    const { port } = server.address() as net.AddressInfo
    const clients = await Promise.all(
      Array.from({ length: 12 }, () => new Promise<net.Socket>((r) => { const c = net.connect(port, '127.0.0.1', () => r(c)) })),
    )
    while (accepted.length < 12) await new Promise((r) => setImmediate(r))
    assert.equal(tracker.openSockets().length, 12)
    assert.deepStrictEqual(ids, Array.from({ length: 12 }, (_, i) => i + 1), 'each socket gets the number opened() gave it')

    // close every other one, from the middle out, so slots are reused in a scrambled order
    const order = [5, 0, 11, 3, 8, 1]
    for (const i of order) accepted[i]?.destroy()
    while (closed < order.length) await new Promise((r) => setImmediate(r))
    assert.equal(tracker.openSockets().length, 6)

    const survivors = accepted.filter((_, i) => !order.includes(i))
    assert.equal(tracker.destroyAll(), 6)
    while (closed < 12) await new Promise((r) => setImmediate(r))
    assert.ok(survivors.every((s) => s.destroyed), 'exactly the open sockets were destroyed')
    assert.deepStrictEqual([opened, closed, tracker.openSockets().length], [12, 12, 0])
    for (const c of clients) c.destroy()
    server.close()
  })
})
