/** The manifest's file name in a module directory. */
export const MANIFEST_FILE = 'noodle.json'

/** Module names: lower-case letters, digits and . _ -, starting with a letter or digit, at most 64 characters. */
export const MODULE_NAME = /^[a-z0-9][a-z0-9._-]{0,63}$/

/** Largest manifest file accepted (it is small: names, ranges, capabilities). */
export const MAX_MANIFEST_BYTES = 64 * 1024

/** Largest WebAssembly binary accepted for a module. */
export const MAX_WASM_BYTES = 64 * 1024 * 1024

/**
 * The wasm is stored as raw blocks of at most this many bytes: one block
 * (whose CID is the wasm's own sha-256) up to 1 MiB, chunks above it.
 * Bitswap refuses blocks over 2 MiB; 1 MiB leaves room and lets a fetch
 * take chunks from several providers at once.
 */
export const CHUNK_BYTES = 1024 * 1024

/** WebAssembly pages are 64 KiB; a module may ask for at most 4 GiB. */
export const MAX_MEMORY_PAGES = 65_536

/** The longest a single call into a module may be allowed to run. */
export const MAX_TIMEOUT_MS = 10 * 60_000

/** Providers a session takes blocks from at once. */
export const MAX_PROVIDERS = 4
/** Requests a session keeps unanswered per provider: enough to keep a stream busy (blocks are up to 1 MiB). */
export const REQUEST_WINDOW = 4
/** A provider that sends nothing for this long while asked for blocks is dropped (not penalised). */
export const BLOCK_TIMEOUT_MS = 20_000
/**
 * A provider whose stream is not open, or that has answered nothing, this
 * long after it was asked is slow: another provider is taken beside it and
 * asked for the same blocks (a hedged request), and whichever answers first
 * is kept: "The Tail at Scale" (Dean and Barroso, CACM 2013) hedged
 * requests, which bound a fetch by the faster of two providers rather than
 * by a starved one that sits on a block for BLOCK_TIMEOUT_MS.
 */
export const HEDGE_MS = 2_000
