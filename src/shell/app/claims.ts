/**
 * An unchanged application's `listen()` calls, as the worker that runs it sees them (`uninterruptible
 * run`): each call on a configured address is claimed for the library's listener on that address
 * (core/listenMatch.ts says which); a second call on a claimed address fails as a port in use does; any
 * other call listens as Node would, and is noted (it will not survive a restart). Calls that come before
 * the worker is ready to take them wait in order.
 */
import type { Server } from 'node:net'
import type { Binds } from '../../core/bind'
import { describeRequest, matchListen } from '../../core/listenMatch'
import { hookListen, type ListenCall } from './listenCall'

/** A call on configured address `index` (its place in `bind`). */
export interface Claim {
  readonly app: Server
  readonly call: ListenCall
  readonly index: number
}

export interface Claims {
  /** From now on `take` gets each claim: those made already first, in order. */
  readonly attach: (take: (c: Claim) => void) => void
  /** Calls no configured address serves, each with why: "listen(4000): no configured address matches it (...)". */
  readonly unmatched: () => readonly string[]
  /** Takes the hook off. */
  readonly release: () => void
}

/** The error Node gives a second `listen` on an address in use. */
const inUse = (call: ListenCall): NodeJS.ErrnoException =>
  Object.assign(new Error(`${describeRequest(call.request)}: EADDRINUSE: address already in use (another listen() of this process has it)`), {
    code: 'EADDRINUSE',
    syscall: 'listen',
  })

export const claimListens = (binds: Binds): Claims => {
  const taken = new Set<number>()
  const waiting: Claim[] = []
  const unmatched: string[] = []
  let take: ((c: Claim) => void) | undefined
  const unhook = hookListen((app, call) => {
    const m = matchListen(binds, call.request, taken)
    switch (m._tag) {
      case 'Served': {
        taken.add(m.index)
        const claim = { app, call, index: m.index }
        if (take === undefined) waiting.push(claim)
        else take(claim)
        return 'served'
      }
      case 'Taken':
        process.nextTick(() => app.emit('error', inUse(call)))
        return 'served'
      case 'Unmatched':
        // a handle or fd is the application's own, or the library's (its listeners listen so)
        if (call.request._tag !== 'Handle') unmatched.push(`${describeRequest(call.request)}: ${m.why}`)
        return 'native'
    }
  })
  return {
    attach: (f) => {
      take = f
      for (const c of waiting.splice(0)) f(c)
    },
    unmatched: () => unmatched,
    release: unhook,
  }
}
