// The web console's assets (docs/console.md): ui/src bundled by esbuild into dist/ui/app.js, with
// index.html and style.css beside it. Everything comes from the repository and node_modules: the
// daemon serves these files and nothing is fetched from elsewhere at run time.
import { copyFile, mkdir, rm } from 'node:fs/promises'
import { build } from 'esbuild'

const outdir = 'dist/ui'
await rm(outdir, { recursive: true, force: true })
await mkdir(outdir, { recursive: true })
await build({
  entryPoints: ['ui/src/main.ts'],
  outfile: `${outdir}/app.js`,
  bundle: true,
  format: 'esm',
  platform: 'browser',
  target: 'es2022',
  minify: true,
  sourcemap: 'linked',
  logLevel: 'warning'
})
await copyFile('ui/index.html', `${outdir}/index.html`)
await copyFile('ui/style.css', `${outdir}/style.css`)
