// relay: a module that reaches out of its sandbox, only as far as it is granted.
//   to_echo  calls the mesh service "echo" (function "echo") with its input, through the host
//            function call(service, fn, input) -> output (capability "call"; the deadline left
//            of this call travels with it)
//   get      HTTP GET of the URL in its input through Extism's http_request (capability "http":
//            the host must be granted; redirects are not followed); answers "<status> <body>"
//   read     the file at the absolute path in its input, through the host function
//            file_read(path) -> bytes (capability "paths": under a granted directory; this
//            manifest asks for none, so a deployment that wants it publishes one that names them)
// A call the grant does not cover fails with CapabilityDeniedError.
import { Host, Memory } from '@extism/as-pdk'
import { error_set, http_request, length } from '@extism/as-pdk/lib/env'

function myAbort (message: string | null, fileName: string | null, lineNumber: u32, columnNumber: u32): void { unreachable() }

@external('extism:host/user', 'call')
declare function call (service: u64, fn: u64, input: u64): u64

@external('extism:host/user', 'file_read')
declare function file_read (path: u64): u64

@external('extism:host/env', 'http_status_code')
declare function http_status_code (): i32

function text (offset: u64): string {
  return offset == 0 ? '' : new Memory(offset, length(offset)).toString()
}

export function to_echo (): i32 {
  const input = Memory.allocateBytes(Host.input())
  const out = call(Memory.allocateString('echo').offset, Memory.allocateString('echo').offset, input.offset)
  Host.outputString(`echo said: ${text(out)}`)
  return 0
}

export function get (): i32 {
  const url = Host.inputString()
  // the request is JSON; a URL that would need escaping is refused rather than escaped by hand
  if (url.includes('"') || url.includes('\\')) {
    error_set(Memory.allocateString('the URL must not contain " or \\').offset)
    return 1
  }
  const body = http_request(Memory.allocateString(`{"url":"${url}","method":"GET"}`).offset, 0)
  Host.outputString(`${http_status_code()} ${text(body)}`)
  return 0
}

export function read (): i32 {
  Host.outputString(text(file_read(Memory.allocateString(Host.inputString()).offset)))
  return 0
}

export function health (): i32 {
  Host.outputString('ok')
  return 0
}
