import type { Logger } from '@libp2p/interface'
import type { RuntimeServiceView } from '../interface/api.js'
import type { PoolCounters } from './pool.js'

/** How often an owner waiting for its turn asks the owner before it. */
const POLL_MS = 250
/** An owner waits this long without seeing the one before it make progress, then goes anyway. */
const STALL_MS = 120_000

export interface TurnOptions {
  service: string
  /** the version being rolled out */
  cid: string
  self: string
  /** the service's owners in rollout order (placement's order, the same on every node) */
  owners: () => string[]
  /** what an owner runs for the service now */
  query: (peer: string, service: string, options: { signal: AbortSignal }) => Promise<RuntimeServiceView | null>
  /** false once the owner before is failed or gone: it is skipped */
  alive: (peer: string) => boolean
  signal: AbortSignal
  log: Logger
}

/**
 * A rolling update, without a coordinator: owners take the new version one
 * at a time, in placement's order. An owner's turn comes when the owner
 * before it runs the new version and is past its probation; if that owner
 * rolled it back (or halted), this one halts too and keeps the old version.
 * An owner before it that is dead, not running the service, or stuck for
 * STALL_MS does not hold the rollout up. Resolves with `halt` (why) when
 * the rollout stops here.
 */
export async function waitForTurn (opts: TurnOptions): Promise<{ halt?: string }> {
  let lastProgress = Date.now()
  let lastSeen = ''
  while (true) {
    opts.signal.throwIfAborted()
    const owners = opts.owners()
    const i = owners.indexOf(opts.self)
    if (i <= 0) return {}
    const before = owners[i - 1]!
    if (!opts.alive(before)) return {}
    const view = await opts.query(before, opts.service, { signal: opts.signal }).catch((err: Error) => {
      opts.log('rollout of %s: cannot ask %s (%s)', opts.service, before, err.message)
      return undefined
    })
    if (view === null) return {} // it does not run the service: nothing to wait for
    if (view != null) {
      const outcome = view.history.findLast(h => h.cid === opts.cid)
      if (outcome?.outcome === 'rolled back' || outcome?.outcome === 'halted') {
        return { halt: `${before} ${outcome.outcome === 'halted' ? 'halted' : 'rolled it back'}${outcome.error != null ? `: ${outcome.error}` : ''}` }
      }
      const onProbation = view.probationUntil != null && Date.parse(view.probationUntil) > Date.now()
      if (view.cid === opts.cid && view.state === 'running' && !onProbation) return {}
      const seen = JSON.stringify([view.state, view.cid, view.probationUntil, view.history.length])
      if (seen !== lastSeen) {
        lastSeen = seen
        lastProgress = Date.now()
      }
    }
    if (Date.now() - lastProgress > STALL_MS) {
      opts.log.error('rollout of %s: %s made no progress for %d s; going ahead', opts.service, before, STALL_MS / 1000)
      return {}
    }
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => { opts.signal.removeEventListener('abort', onAbort); resolve() }, POLL_MS)
      const onAbort = (): void => { clearTimeout(timer); reject(opts.signal.reason) }
      opts.signal.addEventListener('abort', onAbort, { once: true })
    })
  }
}

/** Calls at least, after the switch, before an error rate can condemn a new version. */
export const SPIKE_MIN_CALLS = 20

/**
 * The error-rate test of a new version's probation: a spike is at least
 * SPIKE_MIN_CALLS calls with an error rate of 20 % or more and above twice
 * the old version's rate (plus 5 points), so a service that always fails
 * some calls is not rolled back for doing so. Returns why, or undefined.
 */
export function errorSpike (now: Pick<PoolCounters, 'calls' | 'errors'>, before: Pick<PoolCounters, 'calls' | 'errors'>): string | undefined {
  if (now.calls < SPIKE_MIN_CALLS) return undefined
  const rate = now.errors / now.calls
  const old = before.calls >= SPIKE_MIN_CALLS ? before.errors / before.calls : 0
  if (rate < Math.max(0.2, 2 * old + 0.05)) return undefined
  const pct = (x: number): string => `${Math.round(x * 100)} %`
  return `error rate ${pct(rate)} over ${now.calls} calls after the switch (the version before: ${pct(old)})`
}
