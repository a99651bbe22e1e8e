import { setMaxListeners } from 'node:events'

/**
 * `AbortSignal.timeout(ms)`, kept alive until it fires.
 *
 * Node 20 holds a timeout signal only weakly (its timer does not keep it),
 * and `AbortSignal.any` holds its sources weakly too. So in
 * `AbortSignal.any([signal, AbortSignal.timeout(ms)])` nothing holds the
 * timeout: after a garbage collection it never fires, and neither does the
 * composite (a listener on the composite does not help). Found by fuzzing
 * the control API: a 3 s DHT lookup waited for the request's own 30 s limit.
 * Checked with `node --expose-gc`: the plain form never aborts, this one does.
 * Every timeout in noodled is made here.
 */
const pending = new Set<AbortSignal>()

export function timeoutSignal (ms: number): AbortSignal {
  const signal = AbortSignal.timeout(ms)
  pending.add(signal)
  signal.addEventListener('abort', () => { pending.delete(signal) }, { once: true })
  return signal
}

/** Timeouts not yet fired (for tests). */
export function pendingTimeouts (): number {
  return pending.size
}

/**
 * A service's lifetime: aborted when it stops. Every call the service makes
 * while running derives its signal from this one (`AbortSignal.any`, which
 * adds a listener per derived signal), so Node's default cap of 10 listeners
 * would warn of a leak that is none.
 */
export function lifetimeController (): AbortController {
  const controller = new AbortController()
  setMaxListeners(Infinity, controller.signal)
  return controller
}
