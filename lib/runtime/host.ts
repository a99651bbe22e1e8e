import { randomBytes } from 'node:crypto'
import type { CallContext } from './extism/index.js'
import type { Logger } from '@libp2p/interface'
import { CapabilityDeniedError, DependencyError } from '../interface/errors.js'
import { wasmApi, type WasmModule } from '../wasm-api.js'
import type { Grant } from './grants.js'
import { readGrantedFile } from './files.js'
import type { KvNamespace } from './kv.js'
import { timeoutSignal } from '../signals.js'

/** Extism's namespace for host functions a module declares itself (`@external('extism:host/user', ...)`). */
export const HOST_NAMESPACE = 'extism:host/user'
/** Extism's own kernel (input, output, memory blocks, its log functions); every Extism module imports it. */
export const KERNEL_NAMESPACE = 'extism:host/env'
/** Largest buffer `random_bytes` hands out in one call. */
const MAX_RANDOM_BYTES = 64 * 1024

/** Calls to other mesh services, as the RPC client makes them. */
export type MeshCall = (service: string, fn: string, payload: Uint8Array, options: { timeoutMs: number, signal: AbortSignal }) => Promise<Uint8Array>

/**
 * The call an instance is running now: its deadline (epoch ms) and a signal
 * aborted when the call ends early (its timeout, the caller gone), so a host
 * function working for it (a mesh call, an HTTP request) stops too.
 */
export interface CurrentCall {
  deadline: number
  signal: AbortSignal
}

export interface HostContext {
  service: string
  /** the service's namespace; absent when nothing provides one */
  kv?: KvNamespace
  /** mesh calls (RPC client); absent when nothing provides them */
  call?: MeshCall
  log: Logger
}

/** Service name patterns as grants hold them: `*`, `name`, `prefix*`. */
export const serviceAllowed = (name: string, patterns: string[]): boolean =>
  patterns.some(p => p === '*' || p === name || (p.endsWith('*') && name.startsWith(p.slice(0, -1))))

type HostFunction = (cc: CallContext, ...args: any[]) => unknown

const bytesAt = (cc: CallContext, offset: bigint): Uint8Array => cc.read(offset)?.bytes() ?? new Uint8Array(0)

/**
 * The host functions of the module ABI (docs/modules.md, "Writing modules: host
 * functions"), for one grant. A function whose capability the grant lacks
 * is still there, so a module that only sometimes needs it can load; called,
 * it fails the call with CapabilityDeniedError.
 */
export function hostFunctions (grant: Grant, ctx: HostContext, current: () => CurrentCall | undefined = () => undefined): Record<string, HostFunction> {
  const needs = (what: 'kv'): KvNamespace => {
    if (!grant[what] || ctx.kv == null) throw new CapabilityDeniedError(`service "${ctx.service}" has no ${what} capability (its manifest must ask for it and this node's policy allow it)`)
    return ctx.kv
  }
  const text = (cc: CallContext, offset: bigint): string => new TextDecoder().decode(bytesAt(cc, offset))
  return {
    // call(service, fn, input) -> output: another mesh service, within what is left of this call's deadline
    call: async (cc: CallContext, service: bigint, fn: bigint, input: bigint) => {
      const target = text(cc, service)
      if (!serviceAllowed(target, grant.call) || ctx.call == null) throw new CapabilityDeniedError(`service "${ctx.service}" has no capability to call "${target}" (granted: ${grant.call.join(', ') || 'none'})`)
      const now = current()
      const timeoutMs = Math.max(1, (now?.deadline ?? Date.now() + grant.timeoutMs) - Date.now())
      const output = await ctx.call(target, text(cc, fn), bytesAt(cc, input), { timeoutMs, signal: now?.signal ?? timeoutSignal(timeoutMs) })
      return cc.store(output)
    },
    kv_get: async (cc: CallContext, key: bigint) => {
      const value = await needs('kv').get(bytesAt(cc, key))
      return value == null ? 0n : cc.store(value)
    },
    kv_put: async (cc: CallContext, key: bigint, value: bigint) => { await needs('kv').put(bytesAt(cc, key), bytesAt(cc, value)) },
    kv_delete: async (cc: CallContext, key: bigint) => { await needs('kv').delete(bytesAt(cc, key)) },
    // file_read(path) -> bytes: a file under a directory the grant names (capability "paths"), read-only
    file_read: async (cc: CallContext, path: bigint) => {
      if (grant.paths.length === 0) throw new CapabilityDeniedError(`service "${ctx.service}" has no paths capability (its manifest must ask for directories and this node's policy allow them)`)
      return cc.store(await readGrantedFile(text(cc, path), grant.paths, ctx.service))
    },
    clock_ms: () => BigInt(Date.now()),
    random_bytes: (cc: CallContext, n: bigint) => cc.store(new Uint8Array(randomBytes(Math.min(Number(n), MAX_RANDOM_BYTES))))
  }
}

/** What Extism's log functions write to: the daemon's log when the grant has `log`, nowhere otherwise. */
export function moduleConsole (grant: Grant, ctx: HostContext): Console {
  const write = (level: string) => (...args: unknown[]) => { if (grant.log) ctx.log('module %s %s: %s', ctx.service, level, args.map(String).join(' ')) }
  return { ...console, debug: write('debug'), info: write('info'), warn: write('warn'), error: write('error'), log: write('info'), trace: write('trace') }
}

/**
 * Refuse a module that imports anything but Extism's kernel, our host
 * functions, and functions its linked dependencies export (`linked`: module
 * name -> exported functions): WASI (files, clocks, sockets through it), or
 * functions nothing provides. Named, before any instance exists. `who`
 * names the module in the error.
 */
export function checkImports (module: WasmModule, provided: Set<string>, linked: Map<string, Set<string>> = new Map(), who = 'the module'): void {
  for (const imp of wasmApi.Module.imports(module)) {
    if (imp.module === KERNEL_NAMESPACE) continue
    if (imp.module === HOST_NAMESPACE && imp.kind === 'function' && provided.has(imp.name)) continue
    const dependency = linked.get(imp.module)
    if (dependency != null) {
      if (imp.kind === 'function' && dependency.has(imp.name)) continue
      throw new DependencyError(`${who} imports ${imp.module}.${imp.name} (${imp.kind}), which its dependency "${imp.module}" does not export as a function`)
    }
    throw new CapabilityDeniedError(`${who} imports ${imp.module}.${imp.name} (${imp.kind}), which this sandbox does not provide: no WASI, and no files, sockets or other host access beyond the host functions of its grant and the functions of its dependencies`)
  }
}
