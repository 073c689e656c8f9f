/**
 * Runs the application's hooks (see ServeOptions): a hook that throws or rejects is logged and never
 * stops the server; the exit hook is awaited for a bounded time.
 */
import type { DrainReason } from '../core/lifecycle'
import { DEFAULT_EXIT_HOOK_TIMEOUT_MS, type ServeOptions, type ServerInfo } from './options'
import type { Log } from './log/logger'
import { messageOf } from './os/errno'

export interface Hooks {
  readonly listening: () => void
  readonly draining: (reason: DrainReason) => void
  /** Settles once the exit hook has finished, failed, or run out of time. */
  readonly exit: (code: number) => Promise<void>
}

const isThenable = (u: unknown): u is PromiseLike<unknown> =>
  (typeof u === 'object' || typeof u === 'function') && u !== null && 'then' in u && typeof u.then === 'function'

export const makeHooks = (options: ServeOptions, info: ServerInfo, log: Log): Hooks => {
  const failed = (hook: string) => (err: unknown) => log.error({ event: 'hook-failed', hook, err }, `the ${hook} hook failed: ${messageOf(err)}`)
  /** Calls a hook; its result, if a promise, is returned (rejections logged), else undefined. */
  const call = <I>(hook: keyof ServeOptions, f: ((i: I) => unknown) | undefined, arg: I): Promise<unknown> | undefined => {
    if (f === undefined) return undefined
    try {
      const r = f(arg)
      return isThenable(r) ? Promise.resolve(r).catch(failed(hook)) : undefined
    } catch (err) {
      failed(hook)(err)
      return undefined
    }
  }
  const timeoutMs = options.exitHookTimeoutMs ?? DEFAULT_EXIT_HOOK_TIMEOUT_MS
  return {
    listening: () => void call('onListening', options.onListening, info),
    draining: (reason) => void call('onDraining', options.onDraining, { ...info, reason }),
    exit: async (code) => {
      const running = call('onExit', options.onExit, { ...info, code })
      if (running === undefined) return
      let timer: NodeJS.Timeout | undefined
      const late = new Promise<'late'>((resolve) => (timer = setTimeout(() => resolve('late'), timeoutMs)))
      const outcome = await Promise.race([running.then(() => 'done' as const), late])
      clearTimeout(timer)
      if (outcome === 'late') log.warn({ event: 'hook-timeout', hook: 'onExit', timeoutMs }, `the onExit hook did not finish within ${timeoutMs} ms; exiting anyway`)
    },
  }
}
