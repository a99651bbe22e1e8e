// echo: answers with its input. The smallest useful module, and the demo's service.
import { Host } from '@extism/as-pdk'

// AssemblyScript's default abort imports env.abort, which no host provides
function myAbort (message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void { unreachable() }

export function echo (): i32 {
  Host.output(Host.input())
  return 0
}

/** Health check for hot swap: a module that can run this is healthy. */
export function health (): i32 {
  Host.outputString('ok')
  return 0
}
