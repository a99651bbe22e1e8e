import type { SimNode } from './network.js'

export interface CallRecord {
  /** epoch ms the call was sent */
  at: number
  /** round trip seen by the harness (control API + mesh RPC + module), ms */
  ms: number
  /** the calling daemon's own time for the call (mesh RPC, retries, the module), ms */
  meshMs?: number
  ok: boolean
  caller: number
  service: string
  error?: string
}

export interface LoadInit {
  callers: SimNode[]
  /** concurrent calls each caller keeps in flight */
  concurrency: number
  /** the service for the next call */
  service: () => string
  input: string
  signal: AbortSignal
  timeoutMs?: number
  /** calls may be retried on another instance (failover) */
  idempotent?: boolean
}

/**
 * Closed-loop load: each caller keeps `concurrency` calls in flight through
 * its own daemon's control API (`POST /call`) until the signal fires. A call
 * that answers with other bytes than it sent counts as failed.
 */
export async function runLoad (init: LoadInit): Promise<CallRecord[]> {
  const records: CallRecord[] = []
  const worker = async (caller: SimNode, w: number): Promise<void> => {
    let i = 0
    while (!init.signal.aborted && !caller.killed) {
      const service = init.service()
      const input = `${init.input}:${caller.index}:${w}:${i++}`
      const at = Date.now()
      const t0 = performance.now()
      try {
        const res = await caller.client.call({ service, fn: 'echo', input, timeoutMs: init.timeoutMs ?? 10_000, idempotent: init.idempotent ?? false })
        const ok = res.output === input
        records.push({ at, ms: performance.now() - t0, meshMs: res.elapsedMs, ok, caller: caller.index, service, ...(ok ? {} : { error: 'wrong output' }) })
      } catch (err: any) {
        // a caller killed mid-call is not a failed call of the mesh
        if (caller.killed) return
        records.push({ at, ms: performance.now() - t0, ok: false, caller: caller.index, service, error: String(err.name ?? 'Error') + ': ' + String(err.message).slice(0, 200) })
      }
    }
  }
  await Promise.all(init.callers.flatMap(c => Array.from({ length: init.concurrency }, async (_, w) => worker(c, w))))
  return records
}

/** The most common error messages, for the report. */
export function topErrors (records: CallRecord[], n = 5): Array<{ error: string, count: number }> {
  const counts = new Map<string, number>()
  for (const r of records) if (!r.ok) counts.set(r.error ?? '?', (counts.get(r.error ?? '?') ?? 0) + 1)
  return [...counts.entries()].sort((a, b) => b[1] - a[1]).slice(0, n).map(([error, count]) => ({ error, count }))
}
