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
