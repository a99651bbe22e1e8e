// npm run build:examples: compile every example module (a directory here with
// noodle.json and index.ts) with AssemblyScript's asc, offline, to the entry
// its manifest names. Prints { name, entry, bytes } per module.
import { readdir, readFile, stat } from 'node:fs/promises'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import asc from 'assemblyscript/asc'

const root = dirname(fileURLToPath(import.meta.url))
let failed = false
for (const name of (await readdir(root)).sort()) {
  const dir = join(root, name)
  if (!(await stat(dir)).isDirectory()) continue
  const manifest = JSON.parse(await readFile(join(dir, 'noodle.json'), 'utf8'))
  const outFile = join(dir, manifest.entry)
  const { error, stderr } = await asc.main([
    join(dir, 'index.ts'),
    '--outFile', outFile,
    // AssemblyScript's abort would import env.abort, which an Extism host does not provide
    '--use', 'abort=index/myAbort',
    '--optimize',
    '--baseDir', dir
  ])
  if (error != null) {
    failed = true
    process.stderr.write(`${name}: ${error.message}\n${stderr.toString()}\n`)
    continue
  }
  process.stdout.write(JSON.stringify({ name: manifest.name, entry: relative(process.cwd(), outFile), bytes: (await stat(outFile)).size }) + '\n')
}
if (failed) process.exitCode = 1
