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
import * as O from 'fp-ts/Option'
import type { TlsConfig } from '../../core/config'
import type { Log } from '../log/logger'
import { type Errno, messageOf } from '../os/errno'
import { plainSocketOf } from '../os/handles'
import { loadCrypto, loadTls } from '../os/lazy'
import { rateLimited } from '../log/rateLimited'
import type { Protocol } from './protocol'

export type TlsKey = 'tls.certPath' | 'tls.keyPath' | 'tls.caPath'

export interface TlsError {
  readonly _tag: 'TlsUnusable'
  readonly key: TlsKey
  readonly file: string
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

/** Which file a context error is about: each alone must parse; if all do, the key does not match the certificate. */
const blame = (c: TlsConfig, pem: { readonly cert: Buffer; readonly key: Buffer; readonly ca: Buffer | undefined }, err: unknown): TlsError => {
  const tls = loadTls()
  const tries: readonly [TlsKey, string, () => void][] = [
    ['tls.certPath', c.certPath, () => tls.createSecureContext({ cert: pem.cert })],
    ['tls.keyPath', c.keyPath, () => tls.createSecureContext({ key: pem.key })],
    ...(pem.ca !== undefined && O.isSome(c.caPath) ? [['tls.caPath', c.caPath.value, () => new (loadCrypto().X509Certificate)(pem.ca ?? '')] as [TlsKey, string, () => void]] : []),
  ]
  for (const [key, file, attempt] of tries) {
    try {
      attempt()
    } catch (e) {
      return { _tag: 'TlsUnusable', key, file, reason: `not a usable PEM file (${messageOf(e)})` }
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
  const ca = O.isSome(c.caPath) ? read('tls.caPath', c.caPath.value) : E.right(undefined)
  if (E.isLeft(ca)) return ca
  const pem = { cert: cert.right, key: key.right, ca: ca.right }
  // a CA file with no certificate in it is accepted by OpenSSL as no CA at all: refuse it here
  const caless = pem.ca !== undefined && O.isSome(c.caPath) ? E.tryCatch(() => new (loadCrypto().X509Certificate)(pem.ca ?? ''), (e) => e) : E.right(undefined)
  if (E.isLeft(caless) && O.isSome(c.caPath)) return E.left({ _tag: 'TlsUnusable', key: 'tls.caPath', file: c.caPath.value, reason: `not a usable PEM file (${messageOf(caless.left)})` })
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
  const ids = new WeakMap<Socket, number>()
  const secured = new WeakMap<Socket, TLSSocket>()
  const warn = rateLimited(log, 'tls-handshake-failed')
  server.on('secureConnection', (tlsSocket: TLSSocket) => {
    const plain = plainSocketOf(tlsSocket)
    if (plain !== undefined) secured.set(plain, tlsSocket)
    inner.accept(tlsSocket, plain !== undefined ? (ids.get(plain) ?? 0) : 0)
  })
  server.on('tlsClientError', (err: Errno, tlsSocket: TLSSocket) => {
    const remote = tlsSocket.remoteAddress !== undefined ? `${tlsSocket.remoteAddress}:${String(tlsSocket.remotePort)}` : 'no address'
    warn({ remote, code: err.code ?? null, error: err.message }, `TLS handshake with ${remote} failed: ${err.message}`)
    tlsSocket.destroy() // a timed-out handshake is not closed by Node itself
  })
  return {
    serverOptions: inner.serverOptions,
    accept: (socket, id) => {
      ids.set(socket, id)
      server.emit('connection', socket)
    },
    started: inner.started,
    // connections still in their handshake are left to the drain timeout, as any open connection
    drain: (open) => inner.drain(open.flatMap((plain) => secured.get(plain) ?? [])),
    stopped: inner.stopped,
  }
}
