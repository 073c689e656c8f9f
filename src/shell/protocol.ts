/**
 * Protocol: what is done with each accepted connection, and how open connections are wound down once
 * the listener is closed. Raw sockets run the handler; HTTP feeds an http.Server.
 */
import type { Socket } from 'node:net'

export interface Protocol {
  /** Called for each accepted socket, after it is counted. */
  readonly accept: (socket: Socket, id: number) => void
  /** Called once, when this process stops accepting. */
  readonly drain: () => void
}
