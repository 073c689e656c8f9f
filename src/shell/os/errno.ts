/**
 * Errors from Node's I/O: narrowing what was thrown, and saying in words what a failed file operation
 * means and what to do about it.
 */
import path = require('node:path')

export type Errno = NodeJS.ErrnoException

export const toErrno = (u: unknown): Errno => (u instanceof Error ? u : new Error(String(u)))

export const messageOf = (u: unknown): string => (u instanceof Error ? u.message : String(u))

/** Why writing `file` failed, with the fix; `key` is the config key that chose the path. */
export const fileProblem = (file: string, err: Errno, key: string): string => {
  switch (err.code) {
    case 'ENOENT':
    case 'ENOTDIR':
      return `the folder ${path.dirname(file)} does not exist; create it or set ${key} elsewhere`
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return `this user may not write ${file}; fix the permissions of ${path.dirname(file)} or set ${key} elsewhere`
    case 'EISDIR':
      return `${file} is a folder; set ${key} to a file path`
    default:
      return err.message
  }
}
