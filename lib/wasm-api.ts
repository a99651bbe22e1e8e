/** A compiled WebAssembly module (opaque here). */
export type WasmModule = object

/** The part of the WebAssembly JS API used here (the compiler's lib has no WebAssembly types without DOM). */
export interface WasmApi {
  compile: (bytes: Uint8Array) => Promise<WasmModule>
  Module: {
    exports: (module: WasmModule) => Array<{ name: string, kind: string }>
    imports: (module: WasmModule) => Array<{ module: string, name: string, kind: string }>
  }
}

export const wasmApi = (globalThis as unknown as { WebAssembly: WasmApi }).WebAssembly
