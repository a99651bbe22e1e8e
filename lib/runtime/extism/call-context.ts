// Vendored from the Extism JS SDK 1.0.3 (src/call-context.ts), BSD-3-Clause, see LICENSE and
// README.md in this folder. Changes marked "noodled:" (the kernel memory limit above all).
import { TextDecoder, TextEncoder } from 'node:util';
import { type PluginConfig, PluginOutput } from './interfaces.js';

/**
 * noodled: the message a call fails with when the kernel would hold more than
 * its limit. The error crosses from the worker as text, so the pool knows it by this.
 */
/** noodled: bytes of a log block decoded; a longer line is cut. */
const LOG_TEXT_BYTES = 16 * 1024;

export const KERNEL_LIMIT_MESSAGE = 'kernel memory limit';

/** noodled: the kernel's limit, and what else counts against it (the worker's wasm memories). */
export interface KernelLimit {
  maxBytes: number;
  used?: () => number;
}

export const BEGIN = Symbol('begin');
export const END = Symbol('end');
export const ENV = Symbol('env');
export const GET_BLOCK = Symbol('get-block');
export const IMPORT_STATE = Symbol('import-state');
export const EXPORT_STATE = Symbol('export-state');
export const STORE = Symbol('store-value');
export const RESET = Symbol('reset');

export class Block {
  buffer: ArrayBufferLike;
  view: DataView;
  local: boolean;

  get byteLength() {
    return this.buffer.byteLength;
  }

  constructor(arrayBuffer: ArrayBufferLike, local: boolean) {
    this.buffer = arrayBuffer;
    this.view = new DataView(this.buffer);
    this.local = local;
  }

  static indexToAddress(idx: bigint | number): bigint {
    return BigInt(idx) << 48n;
  }

  static addressToIndex(addr: bigint | number): number {
    return Number(BigInt(addr) >> 48n);
  }

  static maskAddress(addr: bigint | number): number {
    return Number(BigInt(addr) & ((1n << 48n) - 1n));
  }
}

export type CallState = {
  blocks: [ArrayBufferLike | null, number][];
  stack: [number | null, number | null, number | null][];
};

export class CallContext {
  #stack: [number | null, number | null, number | null][];
  #blocks: (Block | null)[] = [];
  #logger: Console;
  #decoder: TextDecoder;
  #encoder: TextEncoder;
  #arrayBufferType: { new (size: number): ArrayBufferLike };
  #config: PluginConfig;
  #vars: Map<string, number> = new Map();
  // noodled: bytes held in blocks now, and the most there may be
  #live = 0;
  #limit: KernelLimit;

  /** @hidden */
  constructor(type: { new (size: number): ArrayBufferLike }, logger: Console, config: PluginConfig, limit: KernelLimit = { maxBytes: Infinity }) {
    this.#arrayBufferType = type;
    this.#limit = limit;
    this.#logger = logger;
    this.#decoder = new TextDecoder();
    this.#encoder = new TextEncoder();

    this.#stack = [];

    // reserve the null page.
    this.alloc(1);

    this.#config = config;
  }

  /**
   * Allocate a chunk of host memory visible to plugins via other extism host functions.
   * Returns the start address of the block.
   */
  alloc(size: bigint | number): bigint {
    const n = Number(size);
    this.#reserve(n);
    const block = new Block(new this.#arrayBufferType(n), true);
    const index = this.#blocks.length;
    this.#blocks.push(block);
    this.#live += n;
    return Block.indexToAddress(index);
  }

  /** noodled: refuse a block of `n` bytes past the limit, before it exists (upstream allocates any size). */
  #reserve(n: number) {
    const used = this.#live + (this.#limit.used?.() ?? 0);
    if (!(n >= 0) || used + n > this.#limit.maxBytes) {
      throw new Error(
        `${KERNEL_LIMIT_MESSAGE}: the module asked for a block of ${n} bytes with ${used} of its ${this.#limit.maxBytes} in use`,
      );
    }
  }

  /** noodled: bytes the kernel holds now. */
  get liveBytes(): number {
    return this.#live;
  }

  /** noodled: every write of a block slot goes through here, so the live count stays true. */
  #put(index: number, block: Block | null) {
    this.#live += (block?.byteLength ?? 0) - (this.#blocks[index]?.byteLength ?? 0);
    this.#blocks[index] = block;
  }

  /**
   * Read a variable from extism memory by name.
   *
   * @returns {@link PluginOutput}
   */
  getVariable(name: string): PluginOutput | null {
    if (!this.#vars.has(name)) {
      return null;
    }
    return this.read(this.#vars.get(name) as number);
  }

  /**
   * Set a variable to a given string or byte array value. Returns the start
   * address of the variable. The start address is reused when changing the
   * value of an existing variable.
   *
   * @returns bigint
   */
  setVariable(name: string, value: string | Uint8Array): bigint {
    const newIdx = this[STORE](value);
    if (newIdx === null) {
      return 0n;
    }

    // Re-use the old address mapping.
    const oldIdx = this.#vars.get(name) ?? null;
    if (oldIdx !== null) {
      const moved = this.#blocks[newIdx] ?? null;
      this.#put(newIdx, null);
      this.#put(oldIdx, moved);
      if (newIdx === this.#blocks.length - 1) {
        this.#blocks.pop();
      }
    }

    this.#vars.set(name, oldIdx ?? newIdx);
    return Block.indexToAddress(oldIdx ?? newIdx);
  }

  /**
   * Given an address in extism memory, return a {@link PluginOutput} that represents
   * a view of that memory. Returns null if the address is invalid.
   *
   * @returns bigint
   */
  read(addr: bigint | number): PluginOutput | null {
    const blockIdx = Block.addressToIndex(addr);
    const block = this.#blocks[blockIdx];
    if (!block) {
      return null;
    }

    // noodled: Node cannot decode text from shared memory, so a shared block is copied (upstream asks its polyfill)
    const buffer = !(block.buffer instanceof ArrayBuffer) ? new Uint8Array(block.buffer).slice().buffer : block.buffer;

    return new PluginOutput(buffer);
  }

  /**
   * Store a string or Uint8Array value in extism memory.
   *
   * @returns bigint
   */
  store(input: string | Uint8Array): bigint {
    const idx = this[STORE](input);
    if (!idx) {
      throw new Error('failed to store output');
    }
    return Block.indexToAddress(idx);
  }

  length(addr: bigint): bigint {
    const blockIdx = Block.addressToIndex(addr);
    const block = this.#blocks[blockIdx];
    if (!block) {
      return 0n;
    }
    return BigInt(block.buffer.byteLength);
  }

  /** @hidden */
  [ENV] = {
    alloc: (n: bigint): bigint => {
      return this.alloc(n);
    },

    free: (addr: number) => {
      // noodled: through #put, so freed bytes leave the live count (the null page is never freed)
      const index = Block.addressToIndex(addr);
      if (index > 0 && index < this.#blocks.length) this.#put(index, null);
    },

    load_u8: (addr: bigint): number => {
      const blockIdx = Block.addressToIndex(addr);
      const offset = Block.maskAddress(addr);
      const block = this.#blocks[blockIdx];
      return block?.view.getUint8(Number(offset)) as number;
    },

    load_u64: (addr: bigint): bigint => {
      const blockIdx = Block.addressToIndex(addr);
      const offset = Block.maskAddress(addr);
      const block = this.#blocks[blockIdx];
      return block?.view.getBigUint64(Number(offset), true) as bigint;
    },

    store_u8: (addr: bigint, n: number) => {
      const blockIdx = Block.addressToIndex(addr);
      const offset = Block.maskAddress(addr);
      const block = this.#blocks[blockIdx];
      block?.view.setUint8(Number(offset), Number(n));
    },

    store_u64: (addr: bigint, n: bigint) => {
      const blockIdx = Block.addressToIndex(addr);
      const offset = Block.maskAddress(addr);
      const block = this.#blocks[blockIdx];
      block?.view.setBigUint64(Number(offset), n, true);
    },

    input_offset: () => {
      const blockIdx = this.#stack[this.#stack.length - 1]![0];
      return Block.indexToAddress(blockIdx || 0);
    },

    input_length: () => {
      return BigInt(this.#input?.byteLength ?? 0);
    },

    input_load_u8: (addr: bigint): number => {
      const offset = Block.maskAddress(addr);
      return this.#input?.view.getUint8(Number(offset)) as number;
    },

    input_load_u64: (addr: bigint): bigint => {
      const offset = Block.maskAddress(addr);
      return this.#input?.view.getBigUint64(Number(offset), true) as bigint;
    },

    output_set: (addr: bigint, length: bigint) => {
      const blockIdx = Block.addressToIndex(addr);
      const block = this.#blocks[blockIdx];
      if (!block) {
        throw new Error(`cannot assign to this block (addr=${addr.toString(16).padStart(16, '0')}; length=${length})`);
      }

      if (length > block.buffer.byteLength) {
        throw new Error('length longer than target block');
      }

      this.#stack[this.#stack.length - 1]![1] = blockIdx;
    },

    error_set: (addr: bigint) => {
      const blockIdx = Block.addressToIndex(addr);
      const block = this.#blocks[blockIdx];
      if (!block) {
        throw new Error('cannot assign to this block');
      }

      this.#stack[this.#stack.length - 1]![2] = blockIdx;
    },

    config_get: (addr: bigint): bigint => {
      const item = this.read(addr);

      if (item === null) {
        return 0n;
      }

      const key = item.string();

      if (key in this.#config) {
        return this.store(this.#config[key]!);
      }

      return 0n;
    },

    var_get: (addr: bigint): bigint => {
      const item = this.read(addr);

      if (item === null) {
        return 0n;
      }

      const key = item.string();
      return this.#vars.has(key) ? Block.indexToAddress(this.#vars.get(key) as number) : 0n;
    },

    var_set: (addr: bigint, valueaddr: bigint) => {
      const item = this.read(addr);

      if (item === null) {
        return 0n;
      }

      const key = item.string();
      if (valueaddr === 0n) {
        this.#vars.delete(key);
        return 0n;
      }

      this.#vars.set(key, Block.addressToIndex(valueaddr));
    },

    http_request: (_requestOffset: bigint, _bodyOffset: bigint): bigint => {
      this.#logger.error('http_request is not enabled');
      return 0n;
    },

    http_status_code: (): number => {
      this.#logger.error('http_status_code is not enabled');
      return 0;
    },

    length: (addr: bigint): bigint => {
      return this.length(addr);
    },

    length_unsafe: (addr: bigint): bigint => {
      return this.length(addr);
    },

    log_warn: (addr: bigint) => {
      const blockIdx = Block.addressToIndex(addr);
      const block = this.#blocks[blockIdx];
      if (!block) {
        return this.#logger.error(
          `failed to log(warn): bad block reference in addr 0x${addr.toString(16).padStart(64, '0')}`,
        );
      }
      const text = this.#text(block);
      this.#logger.warn(text);
    },

    log_info: (addr: bigint) => {
      const blockIdx = Block.addressToIndex(addr);
      const block = this.#blocks[blockIdx];
      if (!block) {
        return this.#logger.error(
          `failed to log(info): bad block reference in addr 0x${addr.toString(16).padStart(64, '0')}`,
        );
      }
      const text = this.#text(block);
      this.#logger.info(text);
    },

    log_debug: (addr: bigint) => {
      const blockIdx = Block.addressToIndex(addr);
      const block = this.#blocks[blockIdx];
      if (!block) {
        return this.#logger.error(
          `failed to log(debug): bad block reference in addr 0x${addr.toString(16).padStart(64, '0')}`,
        );
      }
      const text = this.#text(block);
      this.#logger.debug(text);
    },

    log_error: (addr: bigint) => {
      const blockIdx = Block.addressToIndex(addr);
      const block = this.#blocks[blockIdx];
      if (!block) {
        return this.#logger.error(
          `failed to log(error): bad block reference in addr 0x${addr.toString(16).padStart(64, '0')}`,
        );
      }
      const text = this.#text(block);
      this.#logger.error(text);
    },
  };

  /**
   * noodled: a log block's text: at most its first LOG_TEXT_BYTES decoded (the line is cut
   * further where it is written), copied out first, as Node cannot decode shared memory
   */
  #text(block: Block): string {
    return this.#decoder.decode(new Uint8Array(block.buffer).slice(0, LOG_TEXT_BYTES));
  }

  /** @hidden */
  get #input(): Block | null {
    const idx = this.#stack[this.#stack.length - 1]?.[0] ?? null;
    if (idx === null) {
      return null;
    }
    return this.#blocks[idx] ?? null;
  }

  /** @hidden */
  [RESET]() {
    // preserve the null page.
    this.#blocks.length = 1;
    this.#live = this.#blocks[0]?.byteLength ?? 0;

    // ... but dump the stack items.
    this.#stack.length = 0;

    // noodled: variables name blocks by index, and those blocks are gone; they last one call
    this.#vars.clear();
  }

  /** @hidden */
  [GET_BLOCK](index: number): Block {
    const block = this.#blocks[index];
    if (!block) {
      throw new Error(`invalid block index: ${index}`);
    }
    return block;
  }

  /** @hidden */
  [IMPORT_STATE](state: CallState, copy: boolean = false) {
    // eslint-disable-next-line prefer-const
    for (let [buf, idx] of state.blocks) {
      if (buf && copy) {
        const dst = new Uint8Array(new this.#arrayBufferType(Number(buf.byteLength)));
        dst.set(new Uint8Array(buf));
        buf = dst.buffer;
      }
      this.#put(idx, buf ? new Block(buf, false) : null);
    }
    this.#stack = state.stack;
  }

  /** @hidden */
  [EXPORT_STATE](): CallState {
    return {
      stack: this.#stack.slice(),
      blocks: this.#blocks
        .map((block, idx) => {
          if (!block) {
            return [null, idx];
          }

          if (block.local) {
            block.local = false;
            return [block.buffer, idx];
          }
          return null;
        })
        .filter(Boolean) as [ArrayBufferLike, number][],
    };
  }

  /** @hidden */
  [STORE](input?: string | Uint8Array): number | null {
    if (!input) {
      return null;
    }

    if (typeof input === 'string') {
      input = this.#encoder.encode(input);
    }

    if (input instanceof Uint8Array) {
      // noodled: only a view of its whole buffer is wrapped as it is (upstream wrapped the whole
      // buffer of any view of the right type, bytes outside the view included); and counted
      if (input.buffer.constructor === this.#arrayBufferType && input.byteOffset === 0 && input.byteLength === input.buffer.byteLength) {
        // no action necessary, wrap it up in a block
        this.#reserve(input.byteLength);
        const idx = this.#blocks.length;
        this.#blocks.push(null);
        this.#put(idx, new Block(input.buffer, true));
        return idx;
      }
      const idx = Block.addressToIndex(this.alloc(input.length));
      const block = this.#blocks[idx] as Block;
      const buf = new Uint8Array(block.buffer);
      buf.set(input, 0);
      return idx;
    }

    return null;
  }

  /** @hidden */
  [BEGIN](input: number | null) {
    this.#stack.push([input, null, null]);
  }

  /** @hidden */
  [END](): [number | null, number | null] {
    const [, outputIdx = null, errorIdx = null] = this.#stack.pop() ?? [];
    const outputPosition = errorIdx === null ? 1 : 0;
    const idx = errorIdx ?? outputIdx;
    const result: [number | null, number | null] = [null, null];

    if (idx === null) {
      return result;
    }

    const block = this.#blocks[idx];

    if (block == null) {
      // TODO: this might be an error? we got an output idx but it referred to a freed (or non-existant) block
      return result;
    }

    result[outputPosition] = idx;

    return result;
  }
}
