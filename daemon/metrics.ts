import { prometheusMetrics } from '@libp2p/prometheus-metrics'
import { Counter, Registry, collectDefaultMetrics } from 'prom-client'
import { limited } from '../lib/inbound-limits.js'
import type { Metrics } from '@libp2p/interface'
import { LAG_RESOLUTION_MS } from '../lib/membership/constants.js'

export interface DaemonMetrics {
  registry: Registry
  /** libp2p's metrics component, registering into `registry` */
  libp2p: (components: any) => Metrics
}

/**
 * One registry per daemon (not prom-client's global one) so several daemons
 * in one process, as in tests, do not collide. (libp2p's metrics follow the
 * daemon started last in a process; in production there is one per process.) It holds process metrics,
 * libp2p's (connections, streams, DHT, gossipsub) and ours.
 */
export function createMetrics (): DaemonMetrics {
  const registry = new Registry()
  // the event-loop lag metric samples with a timer on the loop (10 ms by
  // default: 100 wakeups a second in an idle daemon); see LAG_RESOLUTION_MS
  collectDefaultMetrics({ register: registry, prefix: 'noodled_', eventLoopMonitoringPrecision: LAG_RESOLUTION_MS })
  // per-peer inbound stream limits (lib/inbound-limits.ts), read when scraped
  const _limited = new Counter({
    name: 'noodled_inbound_streams_limited_total',
    help: 'inbound streams reset because their peer opened too many on the protocol',
    labelNames: ['protocol'],
    registers: [registry],
    collect () {
      this.reset()
      for (const [protocol, n] of limited) this.inc({ protocol }, n)
    }
  })
  return {
    registry,
    // @libp2p/prometheus-metrics caches metric objects in a module-level map;
    // not preserving them clears that cache so this daemon's libp2p metrics
    // land in this registry even when an earlier daemon ran in the same process
    libp2p: prometheusMetrics({ registry, collectDefaultMetrics: false, preserveExistingMetrics: false })
  }
}
