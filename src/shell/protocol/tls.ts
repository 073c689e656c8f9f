/**
 * TLS: each generation reads the certificate, key and CA files as it starts (so a restart is a
 * certificate rotation) and refuses to start, naming the key and the file, when one is missing,
 * unreadable, or does not match. Accepted connections go through a `tls.Server` that never listens, as
 * an https.Server's do: it does the handshake (bounded by `handshakeTimeoutMs`), asks for or requires a
 * client certificate, and hands the secure socket to the protocol underneath (the raw handler, or the
 * http.Server). A failed handshake is logged with the client's address, never counted as a handler
 * failure. A connection counts from accept, so a drain waits for a handshake in progress.
 */
import fs = require('node:fs')
import type { Socket } from 'node:net'
import type { TLSSocket } from 'node:tls'
import * as E from 'fp-ts/Either'
import { pipe } from 'fp-ts/function'
import * as O from 'fp-ts/Option'
import type { TlsConfig } from '../../core/config'
import type { Log } from '../log/logger'
import { type Errno, messageOf } from '../os/errno'
import { plainSocketOf } from '../os/handles'
import { loadCrypto, loadTls } from '../os/lazy'
import { rateLimited } from '../log/rateLimited'
import type { Protocol } from './protocol'
import { remoteOf } from './raw'

/** A config key that names a TLS file. */
export type TlsKey = 'tls.certPath' | 'tls.keyPath' | 'tls.caPath'

/**
 * A TLS file cannot be used: it is missing or unreadable, not PEM, a CA file with no certificate, or a
 * key that does not match the certificate. Each generation reads the files as it starts.
 *
 * @remarks
 * Fix the file `key` names and start again; at a restart (a certificate rotation) the old generation
 * serves on with the files it read.
 */
export interface TlsError {
  /** Tags this error in {@link ServeError}. */
  readonly _tag: 'TlsUnusable'
  /** Which config key names the file. */
  readonly key: TlsKey
  /** The file's path. */
  readonly file: string
  /** What is wrong with it. */
  readonly reason: string
}

export const describeTlsError = (e: TlsError): string => `cannot use ${e.key} (${e.file}): ${e.reason}`

export interface TlsSettings {
  /** The files as read (a tls.Server makes its context from them). */
  readonly pem: { readonly cert: Buffer; readonly key: Buffer; readonly ca: Buffer | undefined }
  readonly requestCert: boolean
  readonly rejectUnauthorized: boolean
  readonly handshakeTimeoutMs: number
}

const read = (key: TlsKey, file: string): E.Either<TlsError, Buffer> =>
  E.tryCatch(
    () => fs.readFileSync(file),
    (err) => {
      const code = (err as Errno).code
      const reason = code === 'ENOENT' ? 'the file does not exist' : code === 'EACCES' ? 'this user may not read it' : code === 'EISDIR' ? 'it is a folder' : messageOf(err)
      return { _tag: 'TlsUnusable', key, file, reason }
    },
  )

const unusable = (key: TlsKey, file: string, err: unknown): TlsError => ({ _tag: 'TlsUnusable', key, file, reason: `not a usable PEM file (${messageOf(err)})` })

/** Which file a context error is about (the CA was checked on its own already): each alone must parse; if both do, the key does not match the certificate. */
const blame = (c: TlsConfig, pem: { readonly cert: Buffer; readonly key: Buffer }, err: unknown): TlsError => {
  const tls = loadTls()
  const tries: readonly [TlsKey, string, () => void][] = [
    ['tls.certPath', c.certPath, () => tls.createSecureContext({ cert: pem.cert })],
    ['tls.keyPath', c.keyPath, () => tls.createSecureContext({ key: pem.key })],
  ]
  for (const [key, file, attempt] of tries) {
    try {
      attempt()
    } catch (e) {
      return unusable(key, file, e)
    }
  }
  return { _tag: 'TlsUnusable', key: 'tls.keyPath', file: c.keyPath, reason: `it does not match tls.certPath (${c.certPath}): ${messageOf(err)}` }
}

/** Reads the files and checks they make a context (the key matches the certificate); a problem names the config key and the file. */
export const loadTlsSettings = (c: TlsConfig): E.Either<TlsError, TlsSettings> => {
  const cert = read('tls.certPath', c.certPath)
  if (E.isLeft(cert)) return cert
  const key = read('tls.keyPath', c.keyPath)
  if (E.isLeft(key)) return key
  const caPath = c.caPath
  // a CA file with no certificate in it is accepted by OpenSSL as no CA at all: refuse it here
  const ca = O.isSome(caPath)
    ? pipe(
        read('tls.caPath', caPath.value),
        E.flatMap((pem) => E.tryCatch(() => (new (loadCrypto().X509Certificate)(pem), pem), (e) => unusable('tls.caPath', caPath.value, e))),
      )
    : E.right(undefined)
  if (E.isLeft(ca)) return ca
  const pem = { cert: cert.right, key: key.right, ca: ca.right }
  return E.bimap(
    (err: unknown) => blame(c, pem, err),
    (): TlsSettings => ({
      pem,
      requestCert: c.clientCertificates !== 'none',
      rejectUnauthorized: c.clientCertificates === 'require',
      handshakeTimeoutMs: c.handshakeTimeoutMs,
    }),
  )(E.tryCatch(() => loadTls().createSecureContext({ cert: pem.cert, key: pem.key, ...(pem.ca !== undefined ? { ca: pem.ca } : {}) }), (e) => e))
}

// on each accepted plain socket (a property, not a WeakMap: this runs per connection, see connections.ts)
const connectionId = Symbol('uninterruptible.connectionId')
const secured = Symbol('uninterruptible.secured')
type Plain = Socket & { [connectionId]?: number; [secured]?: TLSSocket }

/** Wraps a protocol: its connections are TLS sockets, once their handshake is done. */
export const tlsLayer = (inner: Protocol, s: TlsSettings, log: Log): Protocol => {
  const server = loadTls().createServer({
    cert: s.pem.cert,
    key: s.pem.key,
    ...(s.pem.ca !== undefined ? { ca: s.pem.ca } : {}),
    requestCert: s.requestCert,
    rejectUnauthorized: s.rejectUnauthorized,
    handshakeTimeout: s.handshakeTimeoutMs,
    // what the protocol underneath gives its sockets (an http.Server's half-open, for one)
    ...(inner.serverOptions.allowHalfOpen !== undefined ? { allowHalfOpen: inner.serverOptions.allowHalfOpen } : {}),
  })
  const warn = rateLimited(log, 'tls-handshake-failed')
  server.on('secureConnection', (tlsSocket: TLSSocket) => {
    const plain = plainSocketOf(tlsSocket) as Plain | undefined
    if (plain !== undefined) plain[secured] = tlsSocket
    inner.accept(tlsSocket, plain?.[connectionId] ?? 0)
  })
  server.on('tlsClientError', (err: Errno, tlsSocket: TLSSocket) => {
    const remote = remoteOf(tlsSocket)
    warn({ remote, code: err.code ?? null, error: err.message }, `TLS handshake with ${remote} failed: ${err.message}`)
    tlsSocket.destroy() // a timed-out handshake is not closed by Node itself
  })
  return {
    serverOptions: inner.serverOptions,
    accept: (socket: Plain, id) => {
      socket[connectionId] = id
      server.emit('connection', socket)
    },
    started: inner.started,
    // connections still in their handshake are left to the drain timeout, as any open connection
    drain: (open) => inner.drain((open as readonly Plain[]).flatMap((plain) => plain[secured] ?? [])),
    stopped: inner.stopped,
  }
}
