// Vendored from the Extism JS SDK 1.0.3 (src/background-plugin.ts), BSD-3-Clause, see LICENSE and
// README.md in this folder. The host side of a plugin in a worker thread; changes marked "noodled:".
import { Worker, type ResourceLimits } from 'node:worker_threads';
import { CallContext, RESET, IMPORT_STATE, EXPORT_STATE, STORE, GET_BLOCK } from './call-context.js';
import {
  PluginOutput,
  SAB_BASE_OFFSET,
  SharedArrayBufferSection,
  type InternalConfig,
  type Plugin,
  type WasmModule,
  type WorkerInit,
} from './interfaces.js';
import { EXTISM_ENV } from './foreground-plugin.js';

// noodled: Node has Atomics.waitAsync (upstream polyfilled it for Firefox); the compiler's lib (ES2023) does not declare it
const waitAsync = (Atomics as unknown as {
  waitAsync: (ia: Int32Array, index: number, value: number, timeout: number) => { async: boolean; value: Promise<string> | string };
}).waitAsync;

// noodled: the worker is a file of this package (upstream inlines a bundle of it as a base64 data: URL)
const WORKER_URL = new URL('./worker.js', import.meta.url);

/**
 * noodled: the JavaScript heap a plugin's worker may use. A worker holds the
 * reactor and its messages, never a module's data (wasm memories and kernel
 * blocks are not on the heap, and have limits of their own), so this bounds
 * what is left; past it Node ends the worker (ERR_WORKER_OUT_OF_MEMORY) and the
 * call in flight fails.
 */
export const WORKER_RESOURCE_LIMITS: ResourceLimits = { maxOldGenerationSizeMb: 64, maxYoungGenerationSizeMb: 16 };

class BackgroundPlugin implements Plugin {
  worker: Worker;
  sharedData: SharedArrayBuffer;
  sharedDataView: DataView;
  hostFlag: Int32Array;
  opts: InternalConfig;

  #context: CallContext;
  #request: [(result: any[]) => void, (result: any[]) => void] | null = null;

  constructor(worker: Worker, sharedData: SharedArrayBuffer, opts: InternalConfig, context: CallContext) {
    this.worker = worker;
    this.sharedData = sharedData;
    this.sharedDataView = new DataView(sharedData);
    this.hostFlag = new Int32Array(sharedData);
    this.opts = opts;
    this.#context = context;

    this.hostFlag[0] = SAB_BASE_OFFSET;

    this.worker.on('message', (ev) => this.#handleMessage(ev));
    // noodled: a worker that ends (terminated, out of its heap, crashed) fails the call in flight
    // at once; upstream left it pending forever
    let failure: Error | undefined;
    this.worker.on('error', (err) => {
      failure ??= err;
    });
    this.worker.once('exit', (code) => {
      const request = this.#request;
      this.#request = null;
      const reason = failure ? `${(failure as any).code ?? failure.name}: ${failure.message}` : `exit code ${code}`;
      request?.[1](new Error(`the plugin's worker ended (${reason})`) as any);
    });
  }

  async reset(): Promise<boolean> {
    if (this.isActive()) {
      return false;
    }

    await this.#invoke('reset');

    this.#context[RESET]();
    return true;
  }

  isActive() {
    return Boolean(this.#request);
  }

  async #handleMessage(ev: any) {
    switch (ev?.type) {
      case 'invoke':
        return this.#handleInvoke(ev);
      case 'return':
        return this.#handleReturn(ev);
      case 'log':
        return this.#handleLog(ev);
    }
  }

  #handleLog(ev: any) {
    const fn = (this.opts.logger as any)[ev.level as string];
    if (typeof fn !== 'function') {
      this.opts.logger?.error(`failed to find loglevel="${ev.level}" on logger: message=${ev.message}`);
    } else {
      fn.call(this.opts.logger, ev.message);
    }
  }

  #handleReturn(ev: any) {
    const responder = this.#request || null;
    if (responder === null) {
      // This is fatal, we should probably panic
      throw new Error(`received "return" call with no corresponding request`);
    }

    this.#request = null;

    const [resolve, reject] = responder;

    if (!Array.isArray(ev.results) || ev.results.length !== 2) {
      return reject(new Error(`received malformed "return"`) as any);
    }

    const [err, data] = ev.results;

    err ? reject(err) : resolve(data);
  }

  // host -> guest() invoke
  async #invoke(handler: string, ...args: any[]): Promise<any> {
    if (this.#request) {
      throw new Error('plugin is not reentrant');
    }
    let resolve, reject;
    const promise = new Promise((res, rej) => {
      resolve = res;
      reject = rej;
    });

    this.#request = [resolve as any, reject as any];

    this.worker.postMessage({
      type: 'invoke',
      handler,
      args,
    });

    return promise;
  }

  // host -> guest invoke()
  async call(funcName: string | [string, string], input?: string | Uint8Array): Promise<PluginOutput | null> {
    try {
      return await this.#call(funcName, input);
    } finally {
      // noodled: the output is copied out; the kernel holds nothing between calls (upstream kept
      // every block of every call until reset(): a call took 118 us at first, 3.2 ms after 16,000
      // calls, and failed from about 32,000 on, its block index past its address bits)
      if (!this.isActive()) this.#context[RESET]();
    }
  }

  async #call(funcName: string | [string, string], input?: string | Uint8Array): Promise<PluginOutput | null> {
    const index = this.#context[STORE](input);

    const [errorIdx, outputIdx] = await this.callBlock(funcName, index);

    const shouldThrow = errorIdx !== null;
    const idx = errorIdx ?? outputIdx;

    if (idx === null) {
      return null;
    }

    const block = this.#context[GET_BLOCK](idx);

    if (block === null) {
      return null;
    }

    // noodled: Node cannot decode text from shared memory, so the output is copied out of it
    const buf = new PluginOutput(new Uint8Array(block.buffer).slice().buffer);

    if (shouldThrow) {
      const msg = buf.string();
      throw new Error(`Plugin-originated error: ${msg}`);
    }

    return buf;
  }

  async callBlock(funcName: string | [string, string], input: number | null): Promise<[number | null, number | null]> {
    const exported = this.#context[EXPORT_STATE]();
    const { results, state } = await this.#invoke('call', funcName, input, exported);
    this.#context[IMPORT_STATE](state, true);

    const [err, data] = results;
    if (err) {
      throw err;
    }

    return data;
  }

  async close(): Promise<void> {
    if (this.worker) {
      this.worker.terminate();
      this.worker = null as any;
    }
  }

  // guest -> host invoke()
  async #handleInvoke(ev: any) {
    const writer = new RingBufferWriter(this.sharedData);
    const namespace = this.opts.functions[ev.namespace] as Record<string, any> | undefined;
    const func = (namespace ?? {})[ev.func];
    // XXX(chrisdickinson): this is cürsëd code. Add a setTimeout because some platforms
    // don't spin their event loops if the only pending item is a Promise generated by Atomics.waitAsync.
    //
    // - https://github.com/nodejs/node/pull/44409
    // - https://github.com/denoland/deno/issues/14786
    const timer = setInterval(() => {}, 0);
    try {
      if (!func) {
        throw Error(`Plugin error: host function "${ev.namespace}" "${ev.func}" does not exist`);
      }

      // Fill the shared array buffer with an expected garbage value to make debugging
      // errors more straightforward
      new Uint8Array(this.sharedData).subarray(8).fill(0xfe);

      this.#context[IMPORT_STATE](ev.state, true);

      const data = await func(this.#context, ...ev.args);

      const { blocks } = this.#context[EXPORT_STATE]();

      // Writes to the ring buffer MAY return a promise if the write would wrap.
      // Writes that fit within the ring buffer return void.
      let promise: any;
      for (const [buffer, destination] of blocks) {
        promise = writer.writeUint8(SharedArrayBufferSection.Block);
        if (promise) {
          await promise;
        }

        promise = writer.writeUint32(destination);
        if (promise) {
          await promise;
        }

        promise = writer.writeUint32(buffer?.byteLength || 0);
        if (promise) {
          await promise;
        }

        if (buffer) {
          promise = writer.write(buffer);
          if (promise) {
            await promise;
          }
        }
      }

      if (typeof data === 'bigint') {
        promise = writer.writeUint8(SharedArrayBufferSection.RetI64);
        if (promise) {
          await promise;
        }

        promise = writer.writeUint64(data);
        if (promise) {
          await promise;
        }
      } else if (typeof data === 'number') {
        promise = writer.writeUint8(SharedArrayBufferSection.RetF64);
        if (promise) {
          await promise;
        }

        promise = writer.writeFloat64(data);
        if (promise) {
          await promise;
        }
      } else {
        promise = writer.writeUint8(SharedArrayBufferSection.RetVoid);
        if (promise) {
          await promise;
        }
      }

      promise = writer.writeUint8(SharedArrayBufferSection.End);
      if (promise) {
        await promise;
      }
      await writer.flush();
    } catch (err) {
      this.close();
      const [, reject] = this.#request as any[];
      this.#request = null;
      return reject(err);
    } finally {
      clearInterval(timer);
    }
  }
}

// Return control to the waiting promise. Anecdotally, this appears to help
// with a race condition in Bun.
const MAX_WAIT = 500;
class RingBufferWriter {
  output: SharedArrayBuffer;
  scratch: ArrayBuffer;
  scratchView: DataView;
  outputOffset: number;
  flag: Int32Array;

  static SAB_IDX = 0;

  constructor(output: SharedArrayBuffer) {
    this.scratch = new ArrayBuffer(8);
    this.scratchView = new DataView(this.scratch);
    this.output = output;
    this.outputOffset = SAB_BASE_OFFSET;
    this.flag = new Int32Array(this.output);
    this.wait(0);
  }

  async wait(lastKnownValue: number) {
    // if the flag == SAB_BASE_OFFSET, that means "we have ownership", every other value means "the thread has ownership"
    let value = 0;
    do {
      value = Atomics.load(this.flag, 0);
      if (value === lastKnownValue) {
        const { value: result, async } = waitAsync(this.flag, 0, lastKnownValue, MAX_WAIT);
        if (async) {
          if ((await result) === 'timed-out') {
            continue;
          }
        }
      }
    } while (value === lastKnownValue);
  }

  signal() {
    let old = Atomics.load(this.flag, 0);
    while (Atomics.compareExchange(this.flag, 0, old, this.outputOffset) === old) {
    }
    Atomics.notify(this.flag, 0, 1);
  }

  async flush() {
    if (this.outputOffset === SAB_BASE_OFFSET) {
      // no need to flush -- we haven't written anything!
      return;
    }

    const workerId = this.outputOffset;
    this.signal();
    this.outputOffset = SAB_BASE_OFFSET;
    await this.wait(workerId);
  }

  async spanningWrite(input: Uint8Array) {
    let inputOffset = 0;
    let toWrite = this.output.byteLength - this.outputOffset;
    let flushedWriteCount =
      1 + Math.floor((input.byteLength - toWrite) / (this.output.byteLength - SAB_BASE_OFFSET));
    const finalWrite = (input.byteLength - toWrite) % (this.output.byteLength - SAB_BASE_OFFSET);

    do {
      new Uint8Array(this.output).set(input.subarray(inputOffset, inputOffset + toWrite), this.outputOffset);

      // increment the offset so we know we've written _something_ (and can bypass the "did we not write anything" check in `flush()`)
      this.outputOffset += toWrite;
      inputOffset += toWrite;
      await this.flush();

      // reset toWrite to the maximum available length. (So we may write 29 bytes the first time, but 4096 the next N times.
      toWrite = this.output.byteLength - SAB_BASE_OFFSET;
      --flushedWriteCount;
    } while (flushedWriteCount != 0);

    if (finalWrite) {
      this.write(input.subarray(inputOffset, inputOffset + finalWrite));
    }
  }

  write(bytes: ArrayBufferLike | Uint8Array): void | Promise<void> {
    if (bytes.byteLength + this.outputOffset < this.output.byteLength) {
      new Uint8Array(this.output).set(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes), this.outputOffset);
      this.outputOffset += bytes.byteLength;
      return;
    }

    return this.spanningWrite(bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes));
  }

  writeUint8(value: number): void | Promise<void> {
    this.scratchView.setUint8(0, value);
    return this.write(this.scratch.slice(0, 1));
  }

  writeUint32(value: number): void | Promise<void> {
    this.scratchView.setUint32(0, value, true);
    return this.write(this.scratch.slice(0, 4));
  }

  writeUint64(value: bigint): void | Promise<void> {
    this.scratchView.setBigUint64(0, value, true);
    return this.write(this.scratch.slice(0, 8));
  }

  writeFloat64(value: number): void | Promise<void> {
    this.scratchView.setFloat64(0, value, true);
    return this.write(this.scratch.slice(0, 8));
  }
}

// noodled: no host list here; the daemon's fetch checks every request against the module's grant
class HttpContext {
  fetch: typeof fetch;
  lastStatusCode: number;

  constructor(_fetch: typeof fetch) {
    this.fetch = _fetch;
    this.lastStatusCode = 0;
  }

  contribute(functions: Record<string, Record<string, any>>) {
    functions[EXTISM_ENV] ??= {};
    functions[EXTISM_ENV].http_request = (callContext: CallContext, reqaddr: bigint, bodyaddr: bigint) =>
      this.makeRequest(callContext, reqaddr, bodyaddr);
    functions[EXTISM_ENV].http_status_code = () => this.lastStatusCode;
  }

  async makeRequest(callContext: CallContext, reqaddr: bigint, bodyaddr: bigint) {
    const req = callContext.read(reqaddr);
    if (req === null) {
      return 0n;
    }

    const { headers, header, url: rawUrl, method: m } = req.json();
    const method = m ?? 'GET';
    const body = bodyaddr === 0n || method === 'GET' || method === 'HEAD' ? null : callContext.read(bodyaddr)?.bytes();
    const fetch = this.fetch;
    const response = await fetch(rawUrl, {
      headers: headers || header,
      method,
      ...(body ? { body: body.slice() } : {}),
    });

    this.lastStatusCode = response.status;
    const result = callContext.store(new Uint8Array(await response.arrayBuffer()));

    return result;
  }
}

/**
 * noodled: a plugin worker started ahead of need, resolved once it has started (a
 * thread takes ~50 ms to start); give it to createBackgroundPlugin and the plugin
 * does not wait for one. It does not keep the process alive while it waits.
 */
export function startWorker(): Promise<Worker> {
  // noodled: none of the parent's execArgv (Node's default hands them on): a worker refuses V8
  // flags such as --max-old-space-size, and --input-type stops it loading its file
  const worker = new Worker(WORKER_URL, { execArgv: [], resourceLimits: WORKER_RESOURCE_LIMITS });
  worker.unref();
  return new Promise((resolve, reject) => {
    const failed = (err: Error) => reject(err);
    worker.once('error', failed);
    worker.once('message', (ev) => {
      worker.off('error', failed);
      if (ev?.type !== 'initialized') {
        void worker.terminate();
        return reject(new Error(`received unexpected message (type=${ev?.type})`));
      }
      resolve(worker);
    });
  });
}

export async function createBackgroundPlugin(
  opts: InternalConfig,
  names: string[],
  modules: WasmModule[],
  spare?: Worker,
): Promise<BackgroundPlugin> {
  // noodled: a started spare when there is one
  const worker = spare ?? (await startWorker());
  worker.ref();
  const context = new CallContext(SharedArrayBuffer, opts.logger, opts.config, { maxBytes: opts.limits.maxKernelBytes });
  const httpContext = new HttpContext(opts.fetch);
  httpContext.contribute(opts.functions);

  // NB(chrisdickinson): We *have* to create the SharedArrayBuffer in
  // the parent context because -- for whatever reason! -- chromium does
  // not allow the creation of shared buffers in worker contexts, but firefox
  // and webkit do.
  const sharedData = new SharedArrayBuffer(opts.sharedArrayBufferSize);

  new Uint8Array(sharedData).subarray(8).fill(0xfe);

  const message: WorkerInit = {
    type: 'init',
    functions: Object.fromEntries(Object.entries(opts.functions || {}).map(([k, v]) => [k, Object.keys(v)])),
    names,
    modules,
    sharedData,
    config: opts.config,
    limits: opts.limits,
  };

  // noodled: a worker that fails or ends while it instantiates rejects instead of hanging
  const onready = new Promise((resolve, reject) => {
    const ended = (code: number) => reject(new Error(`the plugin's worker ended (exit code ${code}) before it was ready`));
    worker.once('error', reject);
    worker.once('exit', ended);
    worker.on('message', function handler(ev) {
      worker.removeListener('message', handler);
      worker.removeListener('error', reject);
      worker.removeListener('exit', ended);
      if (ev?.type !== 'ready') {
        reject(new Error(`received unexpected message (type=${ev?.type})`));
      }
      resolve(null);
    });
  });

  worker.postMessage(message);
  try {
    await onready;
  } catch (err) {
    void worker.terminate();
    throw err;
  }

  return new BackgroundPlugin(worker, sharedData, opts, context);
}
