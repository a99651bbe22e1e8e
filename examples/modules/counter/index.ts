// counter: a number kept in the service's key-value namespace, through the kv host functions
// (capability "kv"). The host ABI, namespace "extism:host/user" (README, "Writing modules"):
//   kv_get(key: u64) -> u64            key and value are Extism memory offsets; 0 when the key is absent
//   kv_put(key: u64, value: u64)
//   kv_delete(key: u64)
import { Host, Memory } from '@extism/as-pdk'
import { error_set, length } from '@extism/as-pdk/lib/env'

function myAbort (message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void { unreachable() }

@external('extism:host/user', 'kv_get')
declare function kv_get (key: u64): u64

@external('extism:host/user', 'kv_put')
declare function kv_put (key: u64, value: u64): void

@external('extism:host/user', 'kv_delete')
declare function kv_delete (key: u64): void

const KEY = 'count'

function read (): i64 {
  const offset = kv_get(Memory.allocateString(KEY).offset)
  if (offset == 0) return 0
  return I64.parseInt(new Memory(offset, length(offset)).toString())
}

/** Adds its input (a whole number; 1 when empty) to the counter and answers with the new value. */
export function increment (): i32 {
  const input = Host.inputString()
  let by: i64 = 1
  if (input.length > 0) {
    by = I64.parseInt(input)
    // parseInt stops at the first character that is not a digit; refuse such input rather than guess
    if (by.toString() != input) {
      // the caller gets this as the call's error
      error_set(Memory.allocateString(`"${input}" is not a whole number`).offset)
      return 1
    }
  }
  const next = read() + by
  kv_put(Memory.allocateString(KEY).offset, Memory.allocateString(next.toString()).offset)
  Host.outputString(next.toString())
  return 0
}

export function get (): i32 {
  Host.outputString(read().toString())
  return 0
}

export function reset (): i32 {
  kv_delete(Memory.allocateString(KEY).offset)
  Host.outputString('0')
  return 0
}

export function health (): i32 {
  Host.outputString('ok')
  return 0
}
