// Vendored from the Extism JS SDK 1.0.3 (src/foreground-plugin.ts), BSD-3-Clause, see LICENSE and
// README.md in this folder. Trimmed to what the worker runs; changes marked "noodled:".
import { CallContext, RESET, BEGIN, END, ENV, STORE, GET_BLOCK } from './call-context.js';
import { PluginOutput, type InternalConfig, type Plugin, type WasmInstance, type WasmModule, wasm } from './interfaces.js';

export const EXTISM_ENV = 'extism:host/env';

type InstantiatedModule = { guestType: string; module: WasmModule; instance: WasmInstance };

export class ForegroundPlugin implements Plugin {
  #context: CallContext;
  #modules: InstantiatedModule[];
  #names: string[];
  #active: boolean = false;

  constructor(context: CallContext, names: string[], modules: InstantiatedModule[]) {
    this.#context = context;
    this.#names = names;
    this.#modules = modules;
  }

  async reset(): Promise<boolean> {
    if (this.isActive()) {
      return false;
    }

    this.#context[RESET]();
    return true;
  }

  isActive() {
    return this.#active;
  }

  /** noodled: bytes in the modules' exported memories now (they count against the kernel's limit). */
  wasmMemoryBytes(): number {
    let bytes = 0;
    for (const { instance } of this.#modules) {
      for (const value of Object.values(instance.exports)) {
        if (value instanceof wasm.Memory) bytes += value.buffer.byteLength;
      }
    }
    return bytes;
  }

  async callBlock(funcName: string | [string, string], input: number | null): Promise<[number | null, number | null]> {
    this.#active = true;
    const search: string[] = ([] as string[]).concat(funcName);
    const [target, name] =
      search.length === 2
        ? [this.lookupTarget(search[0]), search[1]!]
        : [
            this.#modules.find((guest) => {
              const exports = wasm.Module.exports(guest.module);
              return exports.find((item) => {
                return item.name === search[0] && item.kind === 'function';
              });
            }),
            search[0]!,
          ];

    if (!target) {
      this.#active = false;
      throw Error(`Plugin error: target "${search.join('" "')}" does not exist`);
    }
    const func = target.instance.exports[name] as any;
    if (!func) {
      this.#active = false;
      throw Error(`Plugin error: function "${search.join('" "')}" does not exist`);
    }

    this.#context[BEGIN](input ?? null);
    try {
      func();
      return this.#context[END]();
    } catch (err) {
      this.#context[END]();
      throw err;
    } finally {
      this.#active = false;
    }
  }

  async call(funcName: string | [string, string], input?: string | Uint8Array): Promise<PluginOutput | null> {
    try {
      const inputIdx = this.#context[STORE](input);
      const [errorIdx, outputIdx] = await this.callBlock(funcName, inputIdx);
      const shouldThrow = errorIdx !== null;
      const idx = errorIdx ?? outputIdx;

      if (idx === null) {
        return null;
      }

      // noodled: copied, as the kernel's blocks are released when the call ends
      const output = new PluginOutput(this.#context[GET_BLOCK](idx).buffer.slice(0));
      if (shouldThrow) {
        throw new Error(`Plugin-originated error: ${output.string()}`);
      }
      return output;
    } finally {
      // noodled: the kernel holds nothing between calls
      this.#context[RESET]();
    }
  }

  async close(): Promise<void> {}

  private lookupTarget(name: any): InstantiatedModule {
    const target = String(name ?? '0');
    const idx = this.#names.findIndex((xs) => xs === target);
    if (idx === -1) {
      throw new Error(`no module named "${name}"`);
    }
    return this.#modules[idx]!;
  }
}

export async function createForegroundPlugin(
  opts: Pick<InternalConfig, 'functions'>,
  names: string[],
  modules: WasmModule[],
  context: CallContext,
): Promise<ForegroundPlugin> {
  // noodled: no WASI (the daemon refuses modules that import it)
  const imports: Record<string, Record<string, any>> = {
    [EXTISM_ENV]: context[ENV],
    env: {},
  };

  for (const namespace in opts.functions) {
    imports[namespace] = imports[namespace] || {};
    for (const func in opts.functions[namespace]) {
      imports[namespace][func] = opts.functions[namespace]![func].bind(null, context);
    }
  }

  // noodled: instantiated in order, each one's exports linked under its name, so a later
  // module can import an earlier one by name (upstream instantiated them side by side, unlinked)
  const instances: InstantiatedModule[] = [];
  for (const [idx, module] of modules.entries()) {
    const instance = await wasm.instantiate(module, imports);

    const guestType = instance.exports.hs_init
      ? 'haskell'
      : instance.exports._initialize
      ? 'reactor'
      : instance.exports._start
      ? 'command'
      : 'none';

    const initRuntime: any = instance.exports.hs_init ? instance.exports.hs_init : () => {};
    initRuntime();

    instances.push({ module, instance, guestType });
    const name = names[idx];
    if (name !== undefined && !Object.hasOwn(imports, name)) imports[name] = instance.exports;
  }

  return new ForegroundPlugin(context, names, instances);
}
