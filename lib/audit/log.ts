import { createHash } from 'node:crypto'
import { Key, type Datastore } from 'interface-datastore'
import { canonicalJson } from '../canonical-json.js'

const PREFIX = '/noodle/audit/log'
const HEAD = new Key('/noodle/audit/head')
const GENESIS = '0'.repeat(64)

export const AUDIT_TYPES = [
  'start', 'key', 'policy',
  'deploy', 'remove', 'publish', 'drain',
  'accepted', 'denied',
  'delegate', 'token-added', 'revoke', 'revocation-received',
  'api-unauthenticated', 'graph-write', 'graph-refused'
] as const
export type AuditType = typeof AUDIT_TYPES[number]

export interface AuditEntry {
  seq: number
  /** epoch ms */
  at: number
  type: AuditType
  detail: Record<string, unknown>
  /** hash of the entry before (64 zeros for the first) */
  prev: string
  /** sha256 over seq, at, type, detail and prev */
  hash: string
}

export interface AuditVerification {
  ok: boolean
  entries: number
  /** the first entry that does not hold, and why */
  broken?: { seq: number, reason: string }
}

function hashOf (e: Omit<AuditEntry, 'hash'>): string {
  return createHash('sha256').update(canonicalJson({ seq: e.seq, at: e.at, type: e.type, detail: e.detail, prev: e.prev })).digest('hex')
}

function byKey (a: { key: Key }, b: { key: Key }): -1 | 0 | 1 {
  const x = a.key.toString()
  const y = b.key.toString()
  return x < y ? -1 : x > y ? 1 : 0
}

function keyOf (seq: number): Key {
  return new Key(`${PREFIX}/${seq.toString().padStart(12, '0')}`)
}

/**
 * The audit trail: an append-only log in the repo's datastore, each entry
 * carrying the hash of the one before, so editing or removing any entry
 * breaks the chain from there on (`noodled audit verify`). The head (last
 * seq and hash) is kept apart so a cut-off tail is noticed too. It guards
 * against edits, not against someone who rewrites the whole log and head:
 * ship it off the machine for that.
 */
export class AuditLog {
  private readonly datastore: Datastore
  private seq = 0
  private head = GENESIS
  private writing: Promise<unknown> = Promise.resolve()

  constructor (init: { datastore: Datastore }) {
    this.datastore = init.datastore
  }

  async start (options: { signal?: AbortSignal } = {}): Promise<void> {
    try {
      const head = JSON.parse(new TextDecoder().decode(await this.datastore.get(HEAD, options)))
      this.seq = head.seq
      this.head = head.hash
    } catch {}
  }

  /** Append an entry; entries are written one at a time, in order. */
  async append (type: AuditType, detail: Record<string, unknown> = {}, options: { signal?: AbortSignal } = {}): Promise<AuditEntry> {
    const run = this.writing.then(async () => {
      const body = { seq: this.seq + 1, at: Date.now(), type, detail: JSON.parse(JSON.stringify(detail)), prev: this.head }
      const entry: AuditEntry = { ...body, hash: hashOf(body) }
      await this.datastore.put(keyOf(entry.seq), new TextEncoder().encode(JSON.stringify(entry)), options)
      await this.datastore.put(HEAD, new TextEncoder().encode(JSON.stringify({ seq: entry.seq, hash: entry.hash })), options)
      this.seq = entry.seq
      this.head = entry.hash
      return entry
    })
    this.writing = run.catch(() => {})
    return run
  }

  /** Entries in order, optionally only the last `limit`. */
  async list (options: { limit?: number, signal?: AbortSignal } = {}): Promise<AuditEntry[]> {
    const out: AuditEntry[] = []
    for await (const { value } of this.datastore.query({ prefix: PREFIX, orders: [byKey] }, options)) {
      try {
        out.push(JSON.parse(new TextDecoder().decode(value)))
      } catch {}
    }
    return options.limit != null ? out.slice(-options.limit) : out
  }

  /** Walk the chain from the first entry to the head. */
  async verify (options: { signal?: AbortSignal } = {}): Promise<AuditVerification> {
    let prev = GENESIS
    let expected = 1
    let count = 0
    for await (const { key, value } of this.datastore.query({ prefix: PREFIX, orders: [byKey] }, options)) {
      const seq = Number(key.baseNamespace())
      let e: AuditEntry
      try {
        e = JSON.parse(new TextDecoder().decode(value))
      } catch {
        return { ok: false, entries: count, broken: { seq, reason: 'not JSON' } }
      }
      if (seq !== expected || e.seq !== seq) return { ok: false, entries: count, broken: { seq: expected, reason: `entry ${expected} is missing (next is ${seq})` } }
      if (e.prev !== prev) return { ok: false, entries: count, broken: { seq, reason: 'does not follow the entry before (prev hash differs)' } }
      if (hashOf(e) !== e.hash) return { ok: false, entries: count, broken: { seq, reason: 'edited (its hash does not match its content)' } }
      prev = e.hash
      expected++
      count++
    }
    if (count !== this.seq || prev !== this.head) return { ok: false, entries: count, broken: { seq: count + 1, reason: `the log ends at ${count} but its head says ${this.seq}: entries were removed from the end` } }
    return { ok: true, entries: count }
  }
}
