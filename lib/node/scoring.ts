import type { GossipsubOpts } from '@libp2p/gossipsub'
import { createPeerScoreParams, createTopicScoreParams } from '@libp2p/gossipsub/score'

/** The gossip topics noodled publishes on, under a protocol prefix. */
export function meshTopics (prefix: string): string[] {
  return ['/members/1', '/services/1', '/modules/1', '/auth/revocations/1'].map(t => `${prefix}${t}`.replace(/^\//, ''))
}

/**
 * Gossipsub peer scoring for real networks (`lan`, `wan`). What matters on
 * our topics is P4: every message our validators reject (malformed,
 * oversized, forged, replayed) counts against its sender, squared, so a
 * peer that sends a few is kept out of gossip and then graylisted, and
 * recovers as the count decays (0.9 a second). First deliveries earn a
 * little, time in the mesh a little. Mesh-delivery-rate scores (P3) stay
 * off: our topics range from a message a second to one an hour, and P3
 * would prune honest peers on the quiet ones. Not used in `local`, where
 * every peer shares 127.0.0.1 and a test may feed bad messages on purpose.
 */
export function meshScoring (prefix: string): Pick<GossipsubOpts, 'scoreParams' | 'scoreThresholds'> {
  const topic = createTopicScoreParams({
    topicWeight: 1,
    timeInMeshWeight: 0.01,
    timeInMeshQuantum: 1_000,
    timeInMeshCap: 300,
    firstMessageDeliveriesWeight: 0.5,
    firstMessageDeliveriesDecay: 0.9,
    firstMessageDeliveriesCap: 20,
    meshMessageDeliveriesWeight: 0,
    meshFailurePenaltyWeight: 0,
    invalidMessageDeliveriesWeight: -10,
    invalidMessageDeliveriesDecay: 0.9
  })
  return {
    scoreParams: createPeerScoreParams({
      topics: Object.fromEntries(meshTopics(prefix).map(t => [t, topic])),
      topicScoreCap: 20,
      decayInterval: 1_000,
      decayToZero: 0.01,
      retainScore: 3_600_000
    }),
    // one bad message costs 10: three keep a peer out of gossip, more graylist it
    scoreThresholds: { gossipThreshold: -10, publishThreshold: -50, graylistThreshold: -80, acceptPXThreshold: 100, opportunisticGraftThreshold: 5 }
  }
}
