import type { CounterGroup, HistogramGroup, Metrics } from '@libp2p/interface'

/** Latency buckets for module calls, seconds: a warm call is ~0.1 ms, a compute-heavy one tens of ms. */
const BUCKETS = [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]

/** What a pool reports about its calls and instances. */
export interface PoolObserver {
  /** a call ended after `ms`; `failed` when it did not return output */
  call: (ms: number, failed: boolean) => void
  /** an instance was terminated and replaced (timeout, trap, denial) */
  restart: () => void
}

/**
 * Per-service Prometheus metrics of the module runtime, labelled `service`:
 * calls, errors, call latency, instance restarts, and (computed at scrape)
 * the instances running. Without a metrics component it records nothing.
 */
export class RuntimeMetrics {
  private readonly calls?: CounterGroup
  private readonly errors?: CounterGroup
  private readonly restarts?: CounterGroup
  private readonly latency?: HistogramGroup

  constructor (metrics: Metrics | undefined, instances: () => Record<string, number>) {
    if (metrics == null) return
    this.calls = metrics.registerCounterGroup('noodled_runtime_calls_total', { label: 'service', help: 'calls to module services run here' })
    this.errors = metrics.registerCounterGroup('noodled_runtime_call_errors_total', { label: 'service', help: 'calls to module services that failed (module error, timeout, trap, denied capability)' })
    this.restarts = metrics.registerCounterGroup('noodled_runtime_instance_restarts_total', { label: 'service', help: 'module instances terminated and replaced' })
    this.latency = metrics.registerHistogramGroup('noodled_runtime_call_duration_seconds', { label: 'service', help: 'time to answer a module call, including waiting for an instance', buckets: BUCKETS })
    // a gauge keeps a label's last value: a service that went away reads 0, not what it last ran
    const seen = new Set<string>()
    metrics.registerMetricGroup('noodled_runtime_instances', {
      label: 'service',
      help: 'module instances (worker threads) running per service',
      calculate: () => {
        const now = instances()
        for (const s of Object.keys(now)) seen.add(s)
        return Object.fromEntries([...seen].map(s => [s, now[s] ?? 0]))
      }
    })
  }

  observer (service: string): PoolObserver {
    return {
      call: (ms, failed) => {
        this.calls?.increment({ [service]: true })
        if (failed) this.errors?.increment({ [service]: true })
        this.latency?.observe({ [service]: ms / 1000 })
      },
      restart: () => { this.restarts?.increment({ [service]: true }) }
    }
  }
}
