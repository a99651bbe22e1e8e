import { z } from 'zod'
import { serviceSpecSchema } from '../placement/spec.js'
import { firstIssue } from '../validation.js'
import { MAX_ENTRY_BYTES } from './constants.js'
import { InvalidCatalogEntryError } from './errors.js'

/**
 * One service in the catalog: a last-writer-wins register per name. The
 * version is a Lamport clock (a local write takes max(seen) + 1), ties go to
 * the higher author peer id, so every replica that has seen the same writes
 * holds the same entry whatever order they arrived in. A delete is an entry
 * like any other (a tombstone), so an older copy cannot bring it back.
 */
export const catalogEntrySchema = z.strictObject({
  name: z.string().min(1).max(63),
  version: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  author: z.string().min(1).max(128),
  /** wall-clock time of the write (informational; never used to order writes) */
  updatedAt: z.number().int().min(0),
  deleted: z.boolean(),
  spec: serviceSpecSchema.optional(),
  /** in a mesh with operators: the author's capability invocation for this write (see lib/auth) */
  auth: z.string().max(32 * 1024).optional()
}).refine(e => e.deleted ? e.spec == null : e.spec != null && e.spec.name === e.name, {
  error: 'a live entry carries the spec of the same name; a tombstone carries none'
})

export type CatalogEntry = z.output<typeof catalogEntrySchema>

/** True when `a` should replace `b` (b may be absent). */
export function newer (a: CatalogEntry, b: CatalogEntry | undefined): boolean {
  if (b == null) return true
  if (a.version !== b.version) return a.version > b.version
  return a.author > b.author
}

/** What an entry's invocation binds: everything but the invocation itself. */
export function authorizedPart (entry: CatalogEntry): Omit<CatalogEntry, 'auth'> {
  const { auth: _auth, ...rest } = entry
  return rest
}

export function encodeEntry (entry: CatalogEntry): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(entry))
}

/** Parse and validate bytes from disk or a peer; refuses oversized and malformed entries. */
export function decodeEntry (bytes: Uint8Array): CatalogEntry {
  if (bytes.byteLength > MAX_ENTRY_BYTES) throw new InvalidCatalogEntryError(`catalog entry of ${bytes.byteLength} bytes, more than ${MAX_ENTRY_BYTES}`)
  let json: unknown
  try {
    json = JSON.parse(new TextDecoder().decode(bytes))
  } catch {
    throw new InvalidCatalogEntryError('catalog entry is not JSON')
  }
  return parseEntry(json)
}

export function parseEntry (value: unknown): CatalogEntry {
  const result = catalogEntrySchema.safeParse(value)
  if (!result.success) throw new InvalidCatalogEntryError(`invalid catalog entry: ${firstIssue(result.error).message}`)
  return result.data
}
