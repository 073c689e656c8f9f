/**
 * Protocol: what is done with each accepted connection, and how open connections are wound down once
 * the listener is closed. Raw sockets run the handler; HTTP feeds an http.Server.
 */
import type { ServerOpts, Socket } from 'node:net'

export interface Protocol {
  /** Options for the listening server, so accepted sockets are what this protocol expects. */
  readonly serverOptions: ServerOpts
  /** Called for each accepted socket, after it is counted. */
  readonly accept: (socket: Socket, id: number) => void
  /** Called once, when this process serves: it has bound, or taken over and told its parent. */
  readonly started: () => void
  /** Called once, when this process stops accepting, with the sockets still open. */
  readonly drain: (open: readonly Socket[]) => void
  /** Called once, when the drain is over (not on a forced exit). */
  readonly stopped: () => void
}
