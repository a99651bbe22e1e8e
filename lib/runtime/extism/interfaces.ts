// Vendored from the Extism JS SDK 1.0.3 (src/interfaces.ts), BSD-3-Clause, see LICENSE and
// README.md in this folder. Trimmed to what the node worker path uses; changes marked "noodled:".

/** noodled: the few WebAssembly JS API types used here (the compiler's lib has none without DOM). */
import { TextDecoder } from 'node:util';

export type WasmModule = object;
export interface WasmInstance {
  exports: Record<string, unknown>;
}
export interface WasmApi {
  instantiate: (module: WasmModule, imports: Record<string, Record<string, unknown>>) => Promise<WasmInstance>;
  Module: {
    exports: (module: WasmModule) => Array<{ name: string; kind: string }>;
  };
  Memory: abstract new (...args: never[]) => { buffer: ArrayBuffer };
}
export const wasm = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly;

/**
 * `PluginOutput` is a view around some memory exposed by the plugin. Typically
 * returned by {@link Plugin#call | `plugin.call()`} or {@link CallContext#read
 * | `callContext.read()`}.
 */
export class PluginOutput {
  static #decoder = new TextDecoder();
  #bytes: Uint8Array | null = null;
  readonly buffer: ArrayBufferLike;

  /** @hidden */
  constructor(buffer: ArrayBufferLike) {
    // noodled: a holder of the bytes, not a DataView (the compiler's DataView cannot be extended here)
    this.buffer = buffer;
  }

  get byteLength(): number {
    return this.buffer.byteLength;
  }

  json(): any {
    return JSON.parse(this.string());
  }

  text(): string {
    return this.string();
  }

  string(): string {
    return PluginOutput.#decoder.decode(this.bytes());
  }

  bytes(): Uint8Array {
    this.#bytes ??= new Uint8Array(this.buffer);
    return this.#bytes;
  }
}

export type PluginConfig = Record<string, string>;

/** noodled: what the daemon uses of a plugin (upstream's Plugin also inspects exports and imports). */
export interface Plugin {
  /**
   * Call a function of one of the plugin's modules with the given input.
   * noodled: the kernel's memory (every block of the call) is released when the call ends.
   */
  call(funcName: string | [string, string], input?: string | Uint8Array): Promise<PluginOutput | null>;

  /** Whether the plugin is currently processing a call. */
  isActive(): boolean;

  close(): Promise<void>;
}

/**
 * noodled: the limits of one plugin. Upstream has none; a module could ask the kernel
 * (`extism:host/env` alloc) for any number of blocks of any size.
 */
export interface PluginLimits {
  /**
   * Bytes the kernel may hold for one call: its input, every block the module
   * allocates, and what host functions store for it. In the worker the module's
   * own wasm memories count against it too, so kernel blocks plus wasm memory
   * stay within the grant.
   */
  maxKernelBytes: number;
  /** Log lines a call may write; the rest are counted and reported in one line. */
  maxLogLines: number;
  /** Characters of one log line kept; a longer line is cut. */
  maxLogLineChars: number;
}

export interface InternalConfig {
  logger: Console;
  functions: { [namespace: string]: { [func: string]: any } };
  fetch: typeof fetch;
  config: PluginConfig;
  sharedArrayBufferSize: number;
  // noodled:
  limits: PluginLimits;
}

/** noodled: the first message a plugin's worker gets. */
export interface WorkerInit {
  type: 'init';
  names: string[];
  modules: WasmModule[];
  sharedData: SharedArrayBuffer;
  functions: { [name: string]: string[] };
  config: PluginConfig;
  limits: PluginLimits;
}

export const SAB_BASE_OFFSET = 4;

export enum SharedArrayBufferSection {
  End = 0xff,
  RetI64 = 1,
  RetF64 = 2,
  RetVoid = 3,
  Block = 4,
}
