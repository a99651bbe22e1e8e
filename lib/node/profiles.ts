import type { ConnectionManagerInit } from 'libp2p'
import type { GossipsubOpts } from '@libp2p/gossipsub'
import type { ProfileName } from '../repo/config.js'

export interface Profile {
  name: ProfileName
  connectionManager: ConnectionManagerInit
  gossipsub: Partial<GossipsubOpts>
  /** gossipsub peer scoring on our topics (scoring.ts) */
  scoring: boolean
}

/**
 * `lan`: one daemon per machine. libp2p's protections stay at their defaults:
 * inbound rate limit per host, pending-connection cap, gossipsub's
 * IP-colocation penalty.
 */
const lan: Profile = {
  name: 'lan',
  connectionManager: {
    maxConnections: 300
  },
  gossipsub: {},
  scoring: true
}

/**
 * `wan`: members across the internet. As `lan`, with membership's `wan`
 * timing (longer probe and suspicion timeouts) by default.
 */
const wan: Profile = {
  name: 'wan',
  connectionManager: {
    maxConnections: 300
  },
  gossipsub: {},
  scoring: true
}

/**
 * `local`: many daemons on one host (simulations, tests, development). All
 * peers share 127.0.0.1, so (docs/design.md, "Traps measured on this stack"):
 * - the per-host inbound threshold (5/s) and pending cap (10) reset joins to
 *   one bootstrap node, so loopback is allowed past them and both are raised;
 * - gossipsub graylists a peer once more than 10 share an IP, so 20 local
 *   daemons never formed a mesh until the colocation weight was 0.
 */
const local: Profile = {
  name: 'local',
  connectionManager: {
    maxConnections: 1_000,
    inboundConnectionThreshold: 1_000,
    maxIncomingPendingConnections: 1_000,
    allow: ['/ip4/127.0.0.0/ipcidr/8', '/ip6/::1/ipcidr/128']
  },
  gossipsub: {
    scoreParams: {
      IPColocationFactorWeight: 0
    }
  },
  scoring: false
}

export const PROFILES: Record<ProfileName, Profile> = { lan, wan, local }
