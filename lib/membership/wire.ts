import { z } from 'zod'
import { decodeJson } from '../json-codec.js'
import { MAX_ADVERT_ADDRS, MAX_ADVERT_BYTES, MAX_SERVICES } from './constants.js'
import { LABEL_KEY, MAX_LABELS, MAX_LABEL_VALUE } from '../constants.js'

const count = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER)
const finite = z.number().finite().nonnegative()

export const resourcesSchema = z.strictObject({
  cpus: count,
  load1: finite,
  load5: finite,
  load15: finite,
  memTotal: count,
  memFree: count,
  loopLagMs: finite,
  slotsTotal: count,
  slotsUsed: count,
  diskFree: count
})

export const labelsSchema = z.record(z.string().regex(LABEL_KEY), z.string().max(MAX_LABEL_VALUE))
  .refine(l => Object.keys(l).length <= MAX_LABELS, { error: `at most ${MAX_LABELS} labels` })

/** A member's own signed statement about itself, published every interval. */
export const advertSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal('advert'),
  peerId: z.string().min(1).max(128),
  seq: count,
  incarnation: count,
  status: z.enum(['alive', 'leaving', 'left']),
  addrs: z.array(z.string().max(256)).max(MAX_ADVERT_ADDRS),
  resources: resourcesSchema,
  labels: labelsSchema,
  services: z.array(z.string().max(128)).max(MAX_SERVICES),
  version: z.string().max(64)
})

/** "I could not reach `target` at `incarnation`, directly or through others." */
export const suspectSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal('suspect'),
  target: z.string().min(1).max(128),
  incarnation: count,
  /**
   * the accuser's dial was refused: nothing listens at the member's address
   * any more (its process is gone), which no live member produces, unlike a
   * missed answer
   */
  refused: z.literal(true).optional()
})

/**
 * "My suspicion of `target` at `incarnation` timed out: it has failed."
 * Receivers mark it failed at once instead of running out their own timers
 * (memberlist's dead message); the target refutes it like a suspicion.
 */
export const failedSchema = z.strictObject({
  v: z.literal(1),
  type: z.literal('failed'),
  target: z.string().min(1).max(128),
  incarnation: count
})

/**
 * A member's advert passed on by another member, with the member's own
 * signature over the advert's exact bytes (relay.ts): how a newcomer's first
 * advert reaches the mesh through the neighbour it pushed it to, before
 * gossipsub has a stream to that neighbour (memberlist's push-pull does the
 * same for its alive messages).
 */
export const relaySchema = z.strictObject({
  v: z.literal(1),
  type: z.literal('relay'),
  /** base64url of the advert's bytes as its member encoded them */
  advert: z.string().min(1).max(Math.ceil(MAX_ADVERT_BYTES * 4 / 3) + 4),
  /** base64url Ed25519 signature by the advert's member over ADVERT_SIGNATURE_PREFIX + those bytes */
  sig: z.string().min(1).max(256)
})

export const topicMessageSchema = z.discriminatedUnion('type', [advertSchema, suspectSchema, failedSchema, relaySchema])

export type Resources = z.infer<typeof resourcesSchema>
export type Advert = z.infer<typeof advertSchema>
export type SuspectClaim = z.infer<typeof suspectSchema>
export type FailedClaim = z.infer<typeof failedSchema>
export type Relay = z.infer<typeof relaySchema>
export type TopicMessage = z.infer<typeof topicMessageSchema>


export function encodeMessage (msg: TopicMessage): Uint8Array {
  return new TextEncoder().encode(JSON.stringify(msg))
}

/** Parse and validate; throws on anything malformed. */
export function decodeMessage (data: Uint8Array): TopicMessage {
  return decodeJson(topicMessageSchema, data)
}

/** Probe protocol messages (one request, one response per stream). */
export const probeRequestSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ping'), nonce: count }),
  // the sender is leaving (graceful stop): said directly as well as gossiped, and only of itself
  // (the connection names the sender); seq is that of its `left` advert
  z.strictObject({ type: z.literal('leave'), nonce: count, incarnation: count, seq: count }),
  z.strictObject({
    type: z.literal('ping-req'),
    nonce: count,
    target: z.string().min(1).max(128),
    addrs: z.array(z.string().max(256)).max(MAX_ADVERT_ADDRS),
    timeoutMs: z.number().int().positive().max(60_000)
  })
])

export const probeResponseSchema = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('ack'), nonce: count, incarnation: count.optional() }),
  // refused: the helper's dial to the target was refused (nothing listens there)
  z.strictObject({ type: z.literal('nack'), nonce: count, refused: z.literal(true).optional() })
])

export type ProbeRequest = z.infer<typeof probeRequestSchema>
export type ProbeResponse = z.infer<typeof probeResponseSchema>
