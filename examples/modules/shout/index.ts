// shout: depends on text-utils@^1.2.0 and calls its upper_at through Extism's module linking.
import { Host, Memory } from '@extism/as-pdk'
import { length } from '@extism/as-pdk/lib/env'

/** The Extism memory block at `offset` (the kernel knows its length). */
function at (offset: u64): Memory {
  return new Memory(offset, length(offset))
}

function myAbort (message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void { unreachable() }

@external('text-utils', 'upper_at')
declare function upper_at (offset: u64): u64

export function shout (): i32 {
  const input = Memory.allocateString(Host.inputString())
  const loud = at(upper_at(input.offset)).toString()
  Host.outputString(loud + '!')
  return 0
}
