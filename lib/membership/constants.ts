/** Gossipsub topic for adverts and suspicion claims: `${prefix}/members/1` with the leading slash dropped. */
export const TOPIC_SUFFIX = '/members/1'
/** Probe protocol (direct and indirect SWIM probes). */
export const PROBE_PROTOCOL_SUFFIX = '/probe/1.0.0'
/** Member-list pull for newcomers. */
export const SYNC_PROTOCOL_SUFFIX = '/members/sync/1.0.0'

/** Adverts larger than this are rejected by the topic validator. */
export const MAX_ADVERT_BYTES = 4 * 1024
/** Any message on the membership topic: an advert relayed for its member is base64url in a small wrapper. */
export const MAX_TOPIC_MESSAGE_BYTES = 6 * 1024
/** Probe messages are tiny; anything larger is a protocol error. */
export const MAX_PROBE_MESSAGE_BYTES = 1024

/** Addresses carried in an advert; enough to redial, small enough for the size cap. */
export const MAX_ADVERT_ADDRS = 8
export const MAX_SERVICES = 64

/**
 * Independent confirmations after which the suspicion timeout reaches its
 * minimum (Lifeguard, "Lifeguard: Local Health Awareness for More Accurate
 * Failure Detection", Dadgar et al. 2018, section 4.3; memberlist: K =
 * SuspicionMult - 2 = 2). The member whose suspicion started it is not a
 * confirmation: one accuser alone means the longest timeout, which is what
 * gives a starved but live member time to refute: were the accuser counted,
 * one claim alone would halve every receiver's timeout.
 */
export const SUSPICION_CONFIRMATIONS = 2
/** Lifeguard's local health multiplier is capped (memberlist: AwarenessMaxMultiplier = 8). */
export const MAX_LOCAL_HEALTH = 8
/** Default event-loop delay (p99 over an advert interval) that counts as one point of local stress (presets override). */
export const LAG_PER_HEALTH_POINT_MS = 50
/** Default host load average per CPU, beyond the first, that counts as one point of local stress (presets override). */
export const LOAD_PER_HEALTH_POINT = 4

/**
 * The membership tick's longest period while no suspicion is pending (it
 * runs every tickMs while one is): silence is then checked at least every
 * quarter of missAfterMs, and never less often than this.
 */
export const IDLE_TICK_MS = 1_000
/** Member events kept for `GET /events` without --follow. */
export const EVENT_HISTORY = 1000
/** How often the repo's free disk is sampled for adverts. */
export const DISK_SAMPLE_MS = 10_000
/**
 * Event-loop delay histogram resolution. Node samples it with a timer on the
 * loop itself, so every tick is a wakeup: at 20 ms (and prom-client's 10 ms
 * default beside it) an idle daemon with no peers woke ~150 times a second
 * and spent 2 % of a core doing it. Lag that matters to Lifeguard is
 * hundreds of ms, which a 100 ms timer still sees.
 */
export const LAG_RESOLUTION_MS = 100
/**
 * Unchanged member addresses are rewritten to the peer store this often
 * (it ages out addresses that are not refreshed; libp2p's default maximum
 * address age is an hour).
 */
export const ADDRS_REFRESH_MS = 10 * 60_000
/** A member-list pull may take this long (a few hundred entries, from a neighbour that may be busy). */
export const SYNC_TIMEOUT_MS = 10_000
/** the most local health stretches a member-list pull to: a pull holds one of the two first-pull turns while it waits */
export const SYNC_TIMEOUT_MAX_MS = 60_000
/**
 * A member that joined (or recovered) less than this long ago is not
 * suspected when a probe fails: a daemon that has just started is busy
 * loading and handshaking with everyone, and misses probes for a while
 * although it is alive. A crash this early is caught by the first probe
 * after it (a refused dial is suspected at once, grace or not).
 */
export const JOIN_GRACE_MS = 10_000
/**
 * Failed members each node tries to reach again at once (one push-pull each,
 * see Membership.reconnect). Serf tries one random failed member every 30 s;
 * memberlist alone never does, and leaves it to Serf. Each push-pull that
 * gets through revives the member it reached everywhere (its refuting
 * advert is passed on), so one per node and round merges two islands; a second keeps a
 * member whose first pick is really dead from waiting a whole round.
 */
export const RECONNECT_AT_ONCE = 2
/**
 * An outbound connection to a member outside this node's view (opened for a
 * DHT query, an indirect probe, a reconnection) is closed once it has been
 * open this long with nothing but gossipsub's and our probe streams on it.
 */
export const TRIM_IDLE_AFTER_MS = 30_000
/**
 * A probe first makes sure it has a stream to the target, within
 * probeTimeoutMs * this (times local health); only then does the probe's own
 * timeout start. A dead process refuses the dial at once either way.
 */
export const CONNECT_BUDGET_FACTOR = 4

/** The longest a graceful stop waits for its `left` to be gossiped and said to connected members. */
export const LEAVE_WAIT_MS = 500
/**
 * A newcomer's first graft into the membership topic's mesh re-sends its
 * advert unless one reached a topic peer this recently (the subscription's
 * announcement usually has, moments before).
 */
export const ANNOUNCE_REACHED_MS = 500
