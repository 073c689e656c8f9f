import assert from 'node:assert/strict'
import * as fs from 'node:fs'
import * as path from 'node:path'
import { describe, it } from 'node:test'
import * as E from 'fp-ts/Either'
import { readPidfile, removePidfileIfOwn, writePidfile } from '../../src/shell/os/pidfile'
import { withDir } from '../support/harness'

describe('pidfile', () => {
  it('writes the pid and a newline, and reads it back', () =>
    withDir(async (dir) => {
      const file = path.join(dir, 'x.pid')
      assert.deepStrictEqual(await writePidfile(file, 4242)(), E.right(undefined))
      assert.equal(fs.readFileSync(file, 'utf8'), '4242\n')
      assert.equal(readPidfile(file), 4242)
      assert.deepStrictEqual(fs.readdirSync(dir), ['x.pid'], 'no temporary file is left')
    }))

  it('replaces a symlink planted at its temporary name instead of writing through it', () =>
    withDir(async (dir) => {
      const file = path.join(dir, 'x.pid')
      const victim = path.join(dir, 'victim')
      fs.writeFileSync(victim, 'precious')
      fs.symlinkSync(victim, `${file}.4242.tmp`)
      assert.deepStrictEqual(await writePidfile(file, 4242)(), E.right(undefined))
      assert.equal(fs.readFileSync(victim, 'utf8'), 'precious')
      assert.equal(readPidfile(file), 4242)
    }))

  it('does not read through a symlink', () =>
    withDir((dir) => {
      const file = path.join(dir, 'x.pid')
      fs.writeFileSync(path.join(dir, 'real'), '7\n')
      fs.symlinkSync(path.join(dir, 'real'), file)
      assert.equal(readPidfile(file), undefined)
    }))

  it('removes the file only while it holds the given pid', () =>
    withDir(async (dir) => {
      const file = path.join(dir, 'x.pid')
      fs.writeFileSync(file, '99\n')
      assert.deepStrictEqual(await removePidfileIfOwn(file, 98)(), E.right('not-ours'))
      assert.ok(fs.existsSync(file))
      assert.deepStrictEqual(await removePidfileIfOwn(file, 99)(), E.right('removed'))
      assert.ok(!fs.existsSync(file))
    }))

  it('does nothing until the task runs', () =>
    withDir(async (dir) => {
      const file = path.join(dir, 'x.pid')
      const write = writePidfile(file, 4242)
      assert.ok(!fs.existsSync(file), 'building the write did not write')
      await write()
      const remove = removePidfileIfOwn(file, 4242)
      assert.ok(fs.existsSync(file), 'building the removal did not remove')
      await remove()
      assert.ok(!fs.existsSync(file))
    }))

  it('says what to do when the folder is missing', () =>
    withDir(async (dir) => {
      const r = await writePidfile(path.join(dir, 'no/x.pid'), 1)()
      assert.ok(E.isLeft(r))
      assert.match(r.left.reason, /the folder .*\/no does not exist; create it or set pidfilePath elsewhere/)
    }))
})
