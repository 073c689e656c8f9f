/**
 * An application's server whose `listen()` a configured address serves (`uninterruptible run`): it never
 * listens itself. The library's listener on the inherited socket accepts, and hands each connection to
 * it (as `serveHttp` feeds an `http.Server`). So that the application sees what a listen would have
 * given it, the server answers for the listener: `listening`, `address()`, `close()`, `ref()`/`unref()`,
 * and gets its `'listening'` event (the listen callback runs then).
 */
import type { Server } from 'node:net'

export interface Adopted {
  /** The application's server. */
  readonly app: Server
  /** Says `'listening'` to the application, once the library's listener accepts. */
  readonly listened: () => void
  /** The drain is over: the application's server closes (its `'close'` event). */
  readonly closed: () => void
}

/**
 * Makes `app` answer for `listener`: the callback its listen was given runs once `listened` is called.
 * `onClose` is what the application's own `close()` asks: the library stops accepting on that address.
 * `unixPath`: the path of a UNIX address, which `address()` gives as Node's does for a `listen(path)`
 * (a server listening on an inherited fd knows no path of its own: Node's `address()` is null there).
 */
export const adopt = (app: Server, listener: Server, callback: (() => void) | undefined, onClose: () => void, unixPath?: string): Adopted => {
  let open = false
  let closed = false
  Object.defineProperty(app, 'listening', { configurable: true, get: () => open && listener.listening })
  app.address = () => (unixPath === undefined ? listener.address() : listener.listening ? unixPath : null)
  app.ref = () => {
    listener.ref()
    return app
  }
  app.unref = () => {
    listener.unref()
    return app
  }
  app.close = (cb?: (err?: Error) => void): Server => {
    // a close asked after the drain (an app's own shutdown handler, which runs then) is done already
    if (cb !== undefined) {
      if (closed) process.nextTick(cb)
      else app.once('close', () => cb())
    }
    if (open) {
      open = false
      onClose()
    }
    return app
  }
  if (callback !== undefined) app.once('listening', callback)
  return {
    app,
    listened: () => {
      open = true
      app.emit('listening')
    },
    closed: () => {
      open = false
      if (closed) return
      closed = true
      app.emit('close')
    },
  }
}
