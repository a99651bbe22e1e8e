import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'

/** The smallest WebAssembly module that exports a function: `echo`, of type () -> (). */
export const ECHO_WASM = Uint8Array.from([
  0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00, // magic, version 1
  0x01, 0x04, 0x01, 0x60, 0x00, 0x00, // types: () -> ()
  0x03, 0x02, 0x01, 0x00, // functions: one, of type 0
  0x07, 0x08, 0x01, 0x04, 0x65, 0x63, 0x68, 0x6f, 0x00, 0x00, // exports: "echo" = function 0
  0x0a, 0x04, 0x01, 0x02, 0x00, 0x0b // code: an empty body
])

/** Write a module directory: `noodle.json` and, unless `wasm` is null, its entry file. */
export async function moduleDir (dir: string, manifest: Record<string, unknown>, wasm: Uint8Array | null = ECHO_WASM): Promise<string> {
  await mkdir(dir, { recursive: true })
  await writeFile(join(dir, 'noodle.json'), JSON.stringify(manifest))
  if (wasm != null && typeof manifest.entry === 'string') {
    await mkdir(join(dir, manifest.entry, '..'), { recursive: true })
    await writeFile(join(dir, manifest.entry), wasm)
  }
  return dir
}

/** `n` bytes of a pattern that `seed` varies: content for blocks and modules. */
export const bytes = (n: number, seed = 1): Uint8Array => Uint8Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff)
