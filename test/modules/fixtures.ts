import { mkdir, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import * as varint from 'uint8-varint'

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

/**
 * A valid module of about `size` bytes: ECHO_WASM and a custom section of
 * filler that `seed` varies and that never repeats (engines skip custom
 * sections). For modules that span several blocks, each block distinct.
 */
export function paddedWasm (size: number, seed = 1): Uint8Array {
  const name = [0x70, 0x61, 0x64] // "pad"
  const fill = Math.max(0, size - ECHO_WASM.byteLength - 16)
  const body = [...varint.encode(name.length), ...name]
  const header = [0x00, ...varint.encode(body.length + fill), ...body]
  const out = new Uint8Array(ECHO_WASM.byteLength + header.length + fill)
  out.set(ECHO_WASM, 0)
  out.set(header, ECHO_WASM.byteLength)
  // filler that does not repeat (a pattern with a period dividing 1 MiB would make every middle chunk
  // the same block, and a 10 MB module a few distinct blocks): xorshift32, four bytes a step
  const view = new DataView(out.buffer)
  let x = (seed * 2654435761) >>> 0 || 1
  const start = ECHO_WASM.byteLength + header.length
  let i = start
  for (; i + 4 <= out.byteLength; i += 4) {
    x ^= x << 13; x >>>= 0
    x ^= x >>> 17
    x ^= x << 5; x >>>= 0
    view.setUint32(i, x)
  }
  for (; i < out.byteLength; i++) out[i] = seed & 0xff
  return out
}
