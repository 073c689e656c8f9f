/**
 * What an application may give `serve` besides the config and the handler: its own logger, and hooks
 * into this process's life (it serves; it starts to drain; it is about to exit); and what a process of
 * the server is (`ServerInfo`), as hooks, handlers and `serverInfo()` say it.
 */
import type { Logger, LoggerOptions } from 'pino'
import type { DrainReason } from '../core/lifecycle'

/** Which process of the server this is. */
export interface ServerInfo {
  /** This process's pid. */
  readonly pid: number
  /** 1 for the process started by hand, one more for each restart. */
  readonly generation: number
  /**
   * `standalone`: it serves and restarts itself; `worker`: it serves for a supervisor, which restarts it;
   * `supervisor`: it runs the workers and never serves (hooks are not called in it).
   */
  readonly mode: 'standalone' | 'worker' | 'supervisor'
  /** A worker's place among its supervisor's workers, from 0. */
  readonly worker?: number
}

/** What `onDraining` is told: which process drains, and why. */
export interface DrainInfo extends ServerInfo {
  /** `handoff`: a new process serves now; `stop`: the server is stopping. */
  readonly reason: DrainReason
}

/** What `onExit` is told: which process exits, and with which code. */
export interface ExitInfo extends ServerInfo {
  /** The code the process exits with (the code `serveTask` completes with). */
  readonly code: number
}

/**
 * What `serve`, `serveTask`, `serveHttp` and `serveHttpTask` take besides the config and the handler:
 * the application's logger, and hooks into this process's life. Hooks run in the processes that serve
 * (standalone ones and workers), never in a supervisor; a hook that throws or rejects is logged
 * (`hook-failed`), never fatal.
 */
export interface ServeOptions {
  /**
   * The application's pino logger (the library logs through a child of it carrying `generation`), or
   * pino options for the logger the library makes (it writes to `logPath` or stdout, as without them).
   * With a logger, `logPath` and `logLevel` are not used.
   */
  readonly logger?: Logger | LoggerOptions
  /** This process serves: it has bound its sockets, or taken them over from its parent. */
  readonly onListening?: (info: ServerInfo) => void
  /**
   * This process stops accepting and drains: tell long-lived clients to go (a WebSocket's 1001 "going
   * away"). A promise it returns is not awaited: the drain goes on meanwhile.
   */
  readonly onDraining?: (info: DrainInfo) => unknown
  /**
   * Every connection has closed (or `drainTimeoutMs` passed) and this process is about to exit: close
   * pools, flush. A promise it returns is awaited for up to `exitHookTimeoutMs`. Not called on a forced exit (a second stop signal).
   */
  readonly onExit?: (info: ExitInfo) => unknown
  /** How long `onExit` may take; default 10000 ms. */
  readonly exitHookTimeoutMs?: number
}

export const DEFAULT_EXIT_HOOK_TIMEOUT_MS = 10_000
