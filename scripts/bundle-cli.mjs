// The CLI as shipped: `dist/bin/main.js`, the compiled CLI bundled by esbuild (our code and
// commander; other dependencies stay in node_modules), with the daemon and other lazily imported parts split
// into chunks beside it, and the sandbox's worker (`worker.js`, loaded by URL) beside them.
//
// Why: a query command loaded ~40 compiled files through Node's ESM loader, each a file read
// and a resolution: `noodled status --json` took 1.75-1.95x Node's own start (`node -e ''`);
// bundled, 1.26x. The tests run this bundle (simulations/harness/daemon-process.ts), so what
// ships is what is tested.
import { chmod, copyFile, readFile, rm } from 'node:fs/promises'
import { build } from 'esbuild'

// dependencies stay in node_modules, but commander (the one every command loads) is bundled:
// through its ESM wrapper over CommonJS it cost a lexer pass and five file reads per start
const { dependencies } = JSON.parse(await readFile('package.json', 'utf8'))
const external = Object.keys(dependencies).filter(d => d !== 'commander').flatMap(d => [d, `${d}/*`])

const outdir = 'dist/bin'
await rm(outdir, { recursive: true, force: true })
await build({
  // workers are loaded by URL beside the code that starts them: the sandbox's and the knowledge store's
  entryPoints: ['dist/cli/main.js', 'dist/lib/runtime/extism/worker.js', 'dist/lib/knowledge/store-worker.js'],
  outdir,
  // flat: the chunks find the worker as `./worker.js`, as the unbundled background plugin does
  entryNames: '[name]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  external,
  // commander is CommonJS and requires Node's builtins; an ESM bundle has no require of its own
  banner: { js: "import { createRequire as __noodledRequire } from 'node:module'; const require = __noodledRequire(import.meta.url);" },
  sourcemap: 'linked',
  logLevel: 'warning'
})
await chmod(`${outdir}/main.js`, 0o755)
// the vendored Extism runtime (lib/runtime/extism) is in these files: its licence goes with them
await copyFile('lib/runtime/extism/LICENSE', `${outdir}/extism-LICENSE`)
