// text-utils: string helpers other modules link against (see ../shout).
import { Host, Memory } from '@extism/as-pdk'
import { length } from '@extism/as-pdk/lib/env'

/** The Extism memory block at `offset` (the kernel knows its length). */
function at (offset: u64): Memory {
  return new Memory(offset, length(offset))
}

function myAbort (message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void { unreachable() }

function toUpper (s: string): string {
  let out = ''
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    out += String.fromCharCode(c >= 97 && c <= 122 ? c - 32 : c)
  }
  return out
}

/** Called by other modules: the string at `offset` (Extism memory), upper-cased, at the offset returned. */
export function upper_at (offset: u64): u64 {
  const input = at(offset).toString()
  return Memory.allocateString(toUpper(input)).offset
}

/** Called by callers of the service: the input, upper-cased. */
export function upper (): i32 {
  Host.outputString(toUpper(Host.inputString()))
  return 0
}
