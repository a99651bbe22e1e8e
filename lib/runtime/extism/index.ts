// Vendored from the Extism JS SDK 1.0.3 (src/mod.ts), BSD-3-Clause, see LICENSE and README.md in
// this folder. What the daemon uses of Extism: a plugin from compiled modules, in a worker thread
// (or in this thread, for comparison), with limits. Changes from upstream: README.md.
import type { Worker } from 'node:worker_threads';
import { createBackgroundPlugin, startWorker, WORKER_RESOURCE_LIMITS } from './background-plugin.js';
import { CallContext } from './call-context.js';
import { createForegroundPlugin } from './foreground-plugin.js';
import type { Plugin, PluginConfig, PluginLimits, WasmModule } from './interfaces.js';

export { startWorker, WORKER_RESOURCE_LIMITS };
export { KERNEL_LIMIT_MESSAGE, type CallContext } from './call-context.js';
export type { Plugin, PluginLimits, PluginOutput, WasmModule } from './interfaces.js';

export interface PluginOptions {
  /** host functions by namespace; each gets the CallContext, then the module's arguments */
  functions?: Record<string, Record<string, (context: CallContext, ...args: any[]) => unknown>>;
  /** where the kernel's log functions write */
  logger?: Console;
  /** what Extism's http_request uses; it must check each request itself (there is no host list) */
  fetch?: typeof fetch;
  config?: PluginConfig;
  limits: PluginLimits;
  /** run in a worker thread (default); false runs in this thread, for comparison */
  runInWorker?: boolean;
  /** a worker from startWorker() to run in, instead of starting one */
  spareWorker?: Worker;
  sharedArrayBufferSize?: number;
}

const refuseFetch: typeof fetch = async () => {
  throw new Error('http_request is not enabled');
};

/**
 * A plugin running `modules` (compiled, in link order: a module may import an
 * earlier one's functions by its name); calls go to `[name, function]`.
 */
export async function createPlugin(modules: Array<{ name: string; module: WasmModule }>, opts: PluginOptions): Promise<Plugin> {
  const names = modules.map((m) => m.name);
  const compiled = modules.map((m) => m.module);
  const logger = opts.logger ?? console;
  const config = opts.config ?? {};
  const functions = { ...(opts.functions ?? {}) };
  if (opts.runInWorker === false) {
    const context = new CallContext(ArrayBuffer, logger, config, { maxBytes: opts.limits.maxKernelBytes });
    return await createForegroundPlugin({ functions }, names, compiled, context);
  }
  return await createBackgroundPlugin(
    {
      logger,
      config,
      functions,
      fetch: opts.fetch ?? refuseFetch,
      limits: opts.limits,
      sharedArrayBufferSize: Number(opts.sharedArrayBufferSize) || 1 << 16,
    },
    names,
    compiled,
    opts.spareWorker,
  );
}
