import { readFile, stat } from 'node:fs/promises'
import { join, resolve, sep } from 'node:path'
import { InvalidManifestError } from '../interface/errors.js'
import { MANIFEST_FILE, MAX_MANIFEST_BYTES, MAX_WASM_BYTES } from './constants.js'
import { parseManifest, type Manifest } from './manifest.js'
import { wasmApi } from '../wasm-api.js'


/**
 * Read a module directory for publishing: `noodle.json` and the wasm it
 * names, checked before anything is stored: the manifest validates, the
 * entry stays inside the directory, the binary is WebAssembly, and every
 * function the manifest exports is a function the binary exports.
 */
export async function readModuleDir (dir: string): Promise<{ manifest: Manifest, wasm: Uint8Array }> {
  const base = resolve(dir)
  const manifestPath = join(base, MANIFEST_FILE)
  const info = await stat(manifestPath).catch((err: NodeJS.ErrnoException) => {
    throw new InvalidManifestError(err.code === 'ENOENT' ? `no ${MANIFEST_FILE} in ${base}` : `cannot read ${manifestPath}: ${err.message}`)
  })
  if (info.size > MAX_MANIFEST_BYTES) throw new InvalidManifestError(`${manifestPath} is ${info.size} bytes; a manifest is at most ${MAX_MANIFEST_BYTES}`)
  let json: unknown
  try {
    json = JSON.parse(await readFile(manifestPath, 'utf8'))
  } catch (err: any) {
    throw new InvalidManifestError(`${manifestPath} is not JSON: ${err.message}`)
  }
  const manifest = parseManifest(json)

  const entry = resolve(base, manifest.entry)
  if (!entry.startsWith(base + sep)) throw new InvalidManifestError(`"entry": ${manifest.entry} is outside ${base}`, 'entry')
  const size = (await stat(entry).catch((err: NodeJS.ErrnoException) => {
    throw new InvalidManifestError(`"entry": ${err.code === 'ENOENT' ? `${entry} does not exist (build the module first?)` : `cannot read ${entry}: ${err.message}`}`, 'entry')
  })).size
  if (size === 0 || size > MAX_WASM_BYTES) throw new InvalidManifestError(`"entry": ${entry} is ${size} bytes; a module's wasm is 1 byte to ${MAX_WASM_BYTES}`, 'entry')
  const wasm = new Uint8Array(await readFile(entry))

  await checkExports(manifest, wasm, entry)
  return { manifest, wasm }
}

/**
 * The binary is WebAssembly and exports, as functions, every name the
 * manifest lists. `where` names the file in errors.
 */
export async function checkExports (manifest: Manifest, wasm: Uint8Array, where = 'the wasm'): Promise<void> {
  let compiled: object
  try {
    compiled = await wasmApi.compile(wasm)
  } catch (err: any) {
    throw new InvalidManifestError(`"entry": ${where} is not valid WebAssembly: ${err.message}`, 'entry')
  }
  const functions = new Set(wasmApi.Module.exports(compiled).filter(e => e.kind === 'function').map(e => e.name))
  manifest.exports.forEach((name, i) => {
    if (!functions.has(name)) throw new InvalidManifestError(`"exports[${i}]": the wasm exports no function "${name}" (it exports: ${[...functions].sort().join(', ') || 'none'})`, `exports[${i}]`)
  })
}
