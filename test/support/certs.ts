/**
 * Certificates for the TLS tests, made with the openssl command in a fresh folder: a CA, a server
 * certificate for localhost signed by it, a client certificate signed by it, and a client certificate
 * from another CA. `undefined` (with the reason) where openssl is missing.
 */
import { spawnSync } from 'node:child_process'
import * as fs from 'node:fs'
import * as path from 'node:path'

export interface Pair {
  readonly cert: string
  readonly key: string
}

export interface Certs {
  readonly dir: string
  readonly ca: string
  readonly server: Pair
  readonly client: Pair
  /** Signed by a CA the server does not trust. */
  readonly stranger: Pair
}

const openssl = (cwd: string, args: readonly string[]): void => {
  const r = spawnSync('openssl', args, { cwd, encoding: 'utf8' })
  if (r.error !== undefined) throw r.error
  if (r.status !== 0) throw new Error(`openssl ${args.join(' ')}: ${r.stderr}`)
}

export const opensslMissing = (): string | false => (spawnSync('openssl', ['version']).status === 0 ? false : 'the openssl command is not installed')

const signed = (dir: string, name: string, subject: string, ca: string, extension: string): Pair => {
  const key = path.join(dir, `${name}.key`)
  const csr = path.join(dir, `${name}.csr`)
  const cert = path.join(dir, `${name}.pem`)
  const ext = path.join(dir, `${name}.ext`)
  fs.writeFileSync(ext, extension)
  openssl(dir, ['req', '-newkey', 'rsa:2048', '-nodes', '-keyout', key, '-out', csr, '-subj', subject])
  openssl(dir, ['x509', '-req', '-in', csr, '-CA', `${ca}.pem`, '-CAkey', `${ca}.key`, '-CAcreateserial', '-out', cert, '-days', '2', '-extfile', ext])
  return { cert, key }
}

const authority = (dir: string, name: string, subject: string): void =>
  openssl(dir, ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', `${name}.key`, '-out', `${name}.pem`, '-days', '2', '-subj', subject])

/** Makes every certificate in `dir`; `serverName` goes in the server certificate's subject (to tell two apart). */
export const makeCerts = (dir: string, serverName = 'localhost'): Certs => {
  authority(dir, 'ca', '/CN=uninterruptible test CA')
  authority(dir, 'other-ca', '/CN=some other CA')
  const server = signed(dir, 'server', `/CN=${serverName}`, path.join(dir, 'ca'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
  const client = signed(dir, 'client', '/CN=client one/O=Tests', path.join(dir, 'ca'), 'extendedKeyUsage=clientAuth\n')
  const stranger = signed(dir, 'stranger', '/CN=stranger', path.join(dir, 'other-ca'), 'extendedKeyUsage=clientAuth\n')
  return { dir, ca: path.join(dir, 'ca.pem'), server, client, stranger }
}

/** Another server certificate from the same CA, with a different name: a rotation. */
export const makeServerCert = (dir: string, name: string, serverName: string): Pair =>
  signed(dir, name, `/CN=${serverName}`, path.join(dir, 'ca'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n')
