/**
 * Failure-detector timing. Every probe period each member probes one of its
 * ring successors (ring.ts; each member has `monitors` such probers), and a
 * monitored member whose connection drops, or any member silent for
 * `missAfterMs`, is probed at once: directly (after connecting, which is
 * bounded separately), then through `indirectProbes` others, the target's
 * other monitors first; then it is suspected, and declared failed when the
 * suspicion times out unrefuted. Adverts carry state (resources, labels) and
 * also count as signs of life.
 *
 * Suspicion timeout (Lifeguard): min = suspicionMinMs * max(1, log10(N)),
 * max = min * suspicionMaxFactor; it falls from max to min as independent
 * confirmations arrive, and every timeout here is multiplied by (1 + local
 * health score) when this node itself is under stress.
 *
 * A dial refused (nothing listens at the member's address) is stronger
 * evidence than any number of confirmations: such a suspicion waits only
 * suspicionMinMs, flat.
 *
 * Budget at N = 50 with `local`: a SIGKILLed member's connections drop, the
 * direct and indirect probes are refused at once, its 3 monitors suspect it
 * and fail it after 600 ms (the refusal travels with the suspicion, so every
 * member that hears it waits as long); without a refusal, with 2
 * confirmations beyond the first, ~600 ms * 1.7 = ~1 s, and one accuser
 * alone waits 4 x that (~4 s) for a refutation. A member paused for
 * 1 s is silent for at most ~2 s, below missAfterMs + probe + indirect
 * (3.2 s) before it could even be suspected, let alone failed.
 */
export interface TimingPreset {
  /** the shortest advert interval; used while the mesh is small */
  advertIntervalMs: number
  /**
   * Adverts each member may expect to receive per second. The advert interval
   * stretches to max(advertIntervalMs, N / maxAdvertRate s) so the cost per
   * member stays flat as N grows, like memberlist scaling its gossip.
   * Adverts carry state (resources, labels), not liveness, and a change of
   * labels, status, addresses, hosted services or slots taken is advertised
   * at once; the periodic advert only refreshes load and memory figures.
   * 2 for `lan` (in a 20-daemon mesh 5 -> 2 took a daemon from 4.9 % to
   * 4.1 % of a core). 0.5 for `local`, whose daemons share one host and so
   * advertise the same load: in a 20-daemon mesh 2 -> 0.5 took a daemon from
   * 3.3 % to 2.2 % of a core (0.2 saved nothing more), and a 100-daemon mesh
   * on 2 cores is starved without that core back.
   */
  maxAdvertRate: number
  /** probe period: each member probes one of its ring successors per period */
  probeIntervalMs: number
  /** silence (no advert, no successful probe) after which a member is probed at once;
   * never less than 2.5 advert intervals */
  missAfterMs: number
  probeTimeoutMs: number
  indirectProbes: number
  indirectTimeoutMs: number
  suspicionMinMs: number
  suspicionMaxFactor: number
  /** how often suspicion timeouts are checked while one is pending (silence: see IDLE_TICK_MS) */
  tickMs: number
  /** topology upkeep and reconnection of failed members */
  upkeepIntervalMs: number
  /** anti-entropy: the member list of a random neighbour is pulled this often (memberlist's push-pull: 30 s LAN, 60 s WAN) */
  syncIntervalMs: number
  /** failed and left members are forgotten after this long */
  reapAfterMs: number
  /**
   * Event-loop lag (p99 per advert interval) that adds one point of local
   * health, i.e. one more multiple of every timeout. Higher for `local`,
   * where daemons share a host and lag mostly measures their siblings.
   */
  lagPerHealthPointMs: number
  /**
   * Host load average per CPU, beyond the first, that adds one point of
   * local health (sampled every probe period); 0 turns it off. Lower for
   * `local`, where daemons share a host: in an idle 100-daemon mesh on 2
   * cores the load average was ~40 per CPU while each daemon's own lag,
   * sampled once per advert interval (50 s there), said little, and the
   * detector flapped (11,485 suspicions and 2,187 failed verdicts of live
   * members in 3 min; none with this signal, simulations/results/idle-n100).
   */
  loadPerHealthPoint: number
  /**
   * The highest local health score, so timeouts stretch at most (1 + this)
   * times. Memberlist's 8 for `lan` and `wan`. 32 for `local`: there the
   * siblings that time out are on this host, and the only way one of them
   * really fails is its process ending, which a refused dial shows at once
   * whatever the score. A host running many daemons on few cores can have
   * a run queue far past what a cap of 8 absorbs, and then every daemon is
   * suspected over and over; each claim is gossiped, checked and answered,
   * which loads the host further (Lifeguard's point, taken further where a
   * slow sibling cannot be a dead one).
   */
  maxLocalHealth: number
}

export const TIMING_PRESETS = {
  local: {
    advertIntervalMs: 1_000,
    maxAdvertRate: 0.5,
    probeIntervalMs: 1_000,
    missAfterMs: 2_000,
    probeTimeoutMs: 500,
    indirectProbes: 3,
    indirectTimeoutMs: 700,
    suspicionMinMs: 600,
    suspicionMaxFactor: 4,
    tickMs: 100,
    upkeepIntervalMs: 2_000,
    syncIntervalMs: 30_000,
    reapAfterMs: 10 * 60_000,
    lagPerHealthPointMs: 200,
    loadPerHealthPoint: 2,
    maxLocalHealth: 32
  },
  lan: {
    advertIntervalMs: 1_000,
    maxAdvertRate: 2,
    probeIntervalMs: 1_000,
    missAfterMs: 2_500,
    probeTimeoutMs: 500,
    indirectProbes: 3,
    indirectTimeoutMs: 1_000,
    suspicionMinMs: 1_000,
    suspicionMaxFactor: 4,
    tickMs: 200,
    upkeepIntervalMs: 5_000,
    syncIntervalMs: 30_000,
    reapAfterMs: 24 * 3600_000,
    lagPerHealthPointMs: 50,
    loadPerHealthPoint: 4,
    maxLocalHealth: 8
  },
  wan: {
    advertIntervalMs: 2_000,
    maxAdvertRate: 2,
    probeIntervalMs: 3_000,
    missAfterMs: 6_000,
    probeTimeoutMs: 2_000,
    indirectProbes: 3,
    indirectTimeoutMs: 3_000,
    suspicionMinMs: 3_000,
    suspicionMaxFactor: 6,
    tickMs: 500,
    upkeepIntervalMs: 15_000,
    syncIntervalMs: 60_000,
    reapAfterMs: 72 * 3600_000,
    lagPerHealthPointMs: 100,
    loadPerHealthPoint: 4,
    maxLocalHealth: 8
  }
} as const satisfies Record<string, TimingPreset>

export type TimingPresetName = keyof typeof TIMING_PRESETS
export const TIMING_PRESET_NAMES = Object.keys(TIMING_PRESETS) as TimingPresetName[]

/** The preset `name`, with any of its fields overridden one by one (from config). */
export function timingFrom (name: TimingPresetName, overrides: Partial<TimingPreset> = {}): TimingPreset {
  const preset = TIMING_PRESETS[name]
  const timing: TimingPreset = { ...preset }
  for (const key of Object.keys(preset) as Array<keyof TimingPreset>) {
    const value = overrides[key]
    if (value != null) timing[key] = value
  }
  return timing
}
