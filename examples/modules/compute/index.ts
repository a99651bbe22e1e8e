// compute: CPU-bound work with no host calls, for the runtime benchmark (the same loop runs as plain
// JS beside it). work(n): n rounds of xorshift32 from a fixed seed; answers the last value in decimal.
import { Host } from '@extism/as-pdk'

function myAbort (message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void { unreachable() }

export function work (): i32 {
  const n = I32.parseInt(Host.inputString())
  let x: u32 = 2463534242
  for (let i = 0; i < n; i++) {
    x ^= x << 13
    x ^= x >> 17
    x ^= x << 5
  }
  Host.outputString(x.toString())
  return 0
}

export function health (): i32 {
  Host.outputString('ok')
  return 0
}
