import * as varint from 'uint8-varint'
import { ModuleLimitError } from '../interface/errors.js'

const MAGIC = [0x00, 0x61, 0x73, 0x6d]
const SECTION_IMPORT = 2
const SECTION_MEMORY = 5
const IMPORT_MEMORY = 0x02

function readU32 (bytes: Uint8Array, at: number): { value: number, next: number } {
  let value = 0
  let shift = 0
  let i = at
  while (true) {
    if (i >= bytes.byteLength || shift > 28) throw new ModuleLimitError('malformed WebAssembly: a LEB128 number runs past its section')
    const b = bytes[i++]!
    value += (b & 0x7f) * 2 ** shift
    if ((b & 0x80) === 0) break
    shift += 7
  }
  return { value, next: i }
}

/** Unsigned LEB128, WebAssembly's integer encoding: the same bytes as a protobuf varint. */
const u32 = (n: number): number[] => [...varint.encode(n)]

/** Memory limits (`flags min [max]`) at `at`, rewritten so max <= maxPages; refused when min > maxPages. */
function limits (bytes: Uint8Array, at: number, maxPages: number, what: string): { out: number[], next: number } {
  const flags = bytes[at]!
  if (flags !== 0x00 && flags !== 0x01) throw new ModuleLimitError(`${what}: shared or 64-bit memories are not supported`)
  const min = readU32(bytes, at + 1)
  let next = min.next
  let max = maxPages
  if (flags === 0x01) {
    const declared = readU32(bytes, next)
    next = declared.next
    max = Math.min(declared.value, maxPages)
  }
  if (min.value > maxPages) throw new ModuleLimitError(`${what} starts at ${min.value} pages; the grant allows ${maxPages}`)
  return { out: [0x01, ...u32(min.value), ...u32(max)], next }
}

/**
 * The module with every memory it defines or imports capped at `maxPages`
 * (64 KiB each): a declared maximum above it is lowered, a missing one is
 * set, so `memory.grow` past the grant fails inside the module (it sees -1,
 * and AssemblyScript aborts) instead of taking the host's memory. Other
 * sections are copied byte for byte. Throws ModuleLimitError for a memory
 * that starts above the grant, and for bytes that are not WebAssembly.
 */
export function limitMemory (wasm: Uint8Array, maxPages: number): Uint8Array {
  if (wasm.byteLength < 8 || MAGIC.some((b, i) => wasm[i] !== b)) throw new ModuleLimitError('not a WebAssembly module')
  const parts: Array<Uint8Array | number[]> = [wasm.subarray(0, 8)]
  let at = 8
  while (at < wasm.byteLength) {
    const id = wasm[at]!
    const size = readU32(wasm, at + 1)
    const start = size.next
    const end = start + size.value
    if (end > wasm.byteLength) throw new ModuleLimitError('malformed WebAssembly: a section runs past the end')
    if (id === SECTION_MEMORY) {
      const count = readU32(wasm, start)
      const body: number[] = [...u32(count.value)]
      let p = count.next
      for (let i = 0; i < count.value; i++) {
        const l = limits(wasm, p, maxPages, `memory ${i}`)
        body.push(...l.out)
        p = l.next
      }
      parts.push([id, ...u32(body.length), ...body])
    } else if (id === SECTION_IMPORT) {
      parts.push(rewriteImports(wasm, id, start, end, maxPages))
    } else {
      parts.push(wasm.subarray(at, end))
    }
    at = end
  }
  const total = parts.reduce((n, p) => n + p.length, 0)
  const out = new Uint8Array(total)
  let o = 0
  for (const p of parts) {
    out.set(p, o)
    o += p.length
  }
  return out
}

/** The import section with imported memories' limits capped (other imports copied). */
function rewriteImports (wasm: Uint8Array, id: number, start: number, end: number, maxPages: number): number[] {
  const count = readU32(wasm, start)
  const body: number[] = [...u32(count.value)]
  let p = count.next
  for (let i = 0; i < count.value; i++) {
    const from = p
    for (let name = 0; name < 2; name++) {
      const len = readU32(wasm, p)
      p = len.next + len.value
    }
    const kind = wasm[p]!
    body.push(...wasm.subarray(from, p + 1))
    p++
    if (kind === IMPORT_MEMORY) {
      const l = limits(wasm, p, maxPages, `imported memory ${i}`)
      body.push(...l.out)
      p = l.next
      continue
    }
    // function: a type index; table: reftype + limits; global: valtype + mutability
    const copyFrom = p
    if (kind === 0x00) p = readU32(wasm, p).next
    else if (kind === 0x01) {
      const flags = wasm[p + 1]!
      p = readU32(wasm, p + 2).next
      if ((flags & 0x01) === 0x01) p = readU32(wasm, p).next
    } else if (kind === 0x03) p += 2
    else throw new ModuleLimitError(`import ${i} has an unknown kind ${kind}`)
    body.push(...wasm.subarray(copyFrom, p))
  }
  if (p !== end) throw new ModuleLimitError('malformed WebAssembly: the import section has trailing bytes')
  return [id, ...u32(body.length), ...body]
}
