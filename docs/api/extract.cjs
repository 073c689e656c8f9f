/**
 * The API reference and the API reports, one per entry point of the package (API Extractor reads one
 * entry point at a time): `uninterruptible`, `uninterruptible/lifecycle`, `uninterruptible/supervisor`.
 *   node docs/api/extract.cjs            check: every export documented, and each report (docs/api/*.api.md)
 *                                        and the reference as committed (CI); fails naming what changed
 *   node docs/api/extract.cjs --update   write the reports and the reference (docs/api/reference/) anew
 * Run after `npm run build` (it reads dist/src/*.d.ts).
 */
const { spawnSync } = require('node:child_process')
const fs = require('node:fs')
const path = require('node:path')

const ROOT = path.resolve(__dirname, '../..')
const ENTRIES = ['index', 'lifecycle', 'supervisor']
const update = process.argv.includes('--update')
const bin = (pkg, name) => path.join(ROOT, 'node_modules', pkg, 'bin', name)

/**
 * API Documenter names every entry point's reference after the package (`uninterruptible`): the pages of
 * a subpath's reference name it instead, in their title and their breadcrumb (links stay as they are).
 * An export whose name is also a global's (`Event`) is `Event_2` in the report (`export { Event_2 as
 * Event }`): its page takes the exported name again, and so do the links to it.
 */
const named = (folder, name, entry) => {
  const report = fs.readFileSync(path.join(__dirname, `${entry}.api.md`), 'utf8')
  const renames = [...report.matchAll(/^export \{ (\w+_\d+) as (\w+) \}$/gm)].map(([, local, exported]) => ({ local, exported }))
  for (const { local, exported } of renames) {
    const from = path.join(folder, `uninterruptible.${local.toLowerCase()}.md`)
    if (fs.existsSync(from)) fs.renameSync(from, path.join(folder, `uninterruptible.${exported.toLowerCase()}.md`))
  }
  for (const file of fs.readdirSync(folder)) {
    const page = path.join(folder, file)
    let text = fs.readFileSync(page, 'utf8')
    if (name !== 'uninterruptible') text = text.replaceAll('[uninterruptible](./uninterruptible.md)', `[${name}](./uninterruptible.md)`).replace(/^## uninterruptible package$/m, `## ${name}`)
    for (const { local, exported } of renames)
      text = text.replaceAll(`uninterruptible.${local.toLowerCase()}.md`, `uninterruptible.${exported.toLowerCase()}.md`).replaceAll(local.replace('_', '\\_'), exported)
    fs.writeFileSync(page, text)
  }
}

let failed = false
for (const entry of ENTRIES) {
  const r = spawnSync(process.execPath, [bin('@microsoft/api-extractor', 'api-extractor'), 'run', '-c', path.join(__dirname, `${entry}.json`), ...(update ? ['--local'] : [])], {
    cwd: ROOT,
    encoding: 'utf8',
  })
  const out = `${r.stdout}${r.stderr}`
  if (r.status !== 0) {
    failed = true
    process.stderr.write(`--- ${entry}:\n${out}\n`)
    if (!update && /changed/i.test(out)) process.stderr.write(`The API of ${entry} changed: if that is meant, run \`npm run api:update\` and commit docs/api/${entry}.api.md and docs/api/reference/ (an export removed or changed is a breaking change).\n`)
  } else process.stdout.write(`${entry}: every export documented; the API report is ${update ? 'written' : 'as committed'}\n`)
}
/** Writes the reference of every entry point into `folder` (anew); false if API Documenter failed. */
const writeReference = (folder) => {
  fs.rmSync(folder, { recursive: true, force: true })
  let ok = true
  for (const entry of ENTRIES) {
    const r = spawnSync(process.execPath, [bin('@microsoft/api-documenter', 'api-documenter'), 'markdown', '-i', path.join(ROOT, 'dist/api', entry), '-o', path.join(folder, entry)], { cwd: ROOT, encoding: 'utf8' })
    if (r.status !== 0) {
      ok = false
      process.stderr.write(`--- reference for ${entry}:\n${r.stdout}${r.stderr}\n`)
    } else named(path.join(folder, entry), entry === 'index' ? 'uninterruptible' : `uninterruptible/${entry}`, entry)
  }
  return ok
}

/** The files of `folder`, relative to it, with their text. */
const filesOf = (folder) =>
  new Map(
    fs.existsSync(folder)
      ? fs.readdirSync(folder, { recursive: true }).filter((f) => fs.statSync(path.join(folder, f)).isFile()).map((f) => [f, fs.readFileSync(path.join(folder, f), 'utf8')])
      : [],
  )

const reference = path.join(__dirname, 'reference')
if (!failed && update) {
  failed = !writeReference(reference)
  if (!failed) process.stdout.write(`reference written to ${path.relative(ROOT, reference)}/\n`)
} else if (!failed) {
  // the reference also shows the doc comments, which the reports do not: it is written aside and compared
  const fresh = path.join(ROOT, 'dist/api/reference')
  failed = !writeReference(fresh)
  if (!failed) {
    const [want, have] = [filesOf(fresh), filesOf(reference)]
    const differ = [...new Set([...want.keys(), ...have.keys()])].filter((f) => want.get(f) !== have.get(f)).sort()
    if (differ.length > 0) {
      failed = true
      process.stderr.write(`The API reference is not as committed (${differ.length} page(s): ${differ.slice(0, 10).join(', ')}${differ.length > 10 ? ', ...' : ''}): run \`npm run api:update\` and commit docs/api/reference/.\n`)
    } else process.stdout.write(`reference: as committed\n`)
  }
}
process.exit(failed ? 1 : 0)
