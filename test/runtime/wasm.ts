import * as varint from 'uint8-varint'

/**
 * A tiny WebAssembly assembler for sandbox tests: modules whose exported
 * functions (each `() -> i32`) are given as raw instruction bytes, with
 * function imports and a memory. Enough to write a loop, a memory bomb or a
 * trap without a toolchain.
 */
export const op = {
  unreachable: 0x00,
  loop: [0x03, 0x40],
  if: [0x04, 0x40],
  end: 0x0b,
  br: (depth: number) => [0x0c, depth],
  brIf: (depth: number) => [0x0d, depth],
  localGet: (index: number) => [0x20, index],
  localSet: (index: number) => [0x21, index],
  localTee: (index: number) => [0x22, index],
  i32add: 0x6a,
  i32ltU: 0x49,
  i64add: 0x7c,
  i64ltU: 0x54,
  call: (index: number) => [0x10, index],
  drop: 0x1a,
  i32: (n: number) => [0x41, ...sleb(n)],
  i64: (n: number) => [0x42, ...sleb(n)],
  i32eq: 0x46,
  memoryGrow: [0x40, 0x00]
}

const I32 = 0x7f
const I64 = 0x7e

/** Unsigned LEB128 (the same bytes as a protobuf varint). */
const uleb = (n: number): number[] => [...varint.encode(n)]

function sleb (n: number): number[] {
  const out: number[] = []
  while (true) {
    const b = n & 0x7f
    n >>= 7
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b)
      return out
    }
    out.push(b | 0x80)
  }
}

const name = (s: string): number[] => [...uleb(s.length), ...new TextEncoder().encode(s)]
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body]
const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()]

export interface ImportSpec { module: string, name: string, params: Array<'i32' | 'i64'>, results: Array<'i32' | 'i64'> }
export interface FuncSpec { name: string, body: Array<number | number[]>, locals?: Array<'i32' | 'i64'> }

export function wasmModule (spec: { imports?: ImportSpec[], memory?: { min: number, max?: number }, funcs: FuncSpec[] }): Uint8Array {
  const imports = spec.imports ?? []
  const t = (v: 'i32' | 'i64'): number => v === 'i32' ? I32 : I64
  const types = [...imports.map(i => [0x60, ...vec(i.params.map(p => [t(p)])), ...vec(i.results.map(r => [t(r)]))]), [0x60, 0x00, 0x01, I32]]
  const mainType = types.length - 1
  const out: number[] = [0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00]
  out.push(...section(1, vec(types)))
  if (imports.length > 0) out.push(...section(2, vec(imports.map((i, k) => [...name(i.module), ...name(i.name), 0x00, ...uleb(k)]))))
  out.push(...section(3, vec(spec.funcs.map(() => uleb(mainType)))))
  if (spec.memory != null) {
    const { min, max } = spec.memory
    out.push(...section(5, vec([max == null ? [0x00, ...uleb(min)] : [0x01, ...uleb(min), ...uleb(max)]])))
  }
  out.push(...section(7, vec(spec.funcs.map((f, k) => [...name(f.name), 0x00, ...uleb(imports.length + k)]))))
  out.push(...section(10, vec(spec.funcs.map(f => {
    const locals = vec((f.locals ?? []).map(l => [1, t(l)]))
    const body = [...locals, ...f.body.flat(), op.end]
    return [...uleb(body.length), ...body]
  }))))
  return Uint8Array.from(out)
}
