import { z } from 'zod'
import { InvalidRequestError } from '../interface/errors.js'

/** Every invite starts so: a reader knows what it holds, and a typo is caught before decoding. */
export const INVITE_PREFIX = 'noodle-invite-v1:'
/** An invite is a few addresses and a key; anything near this is not one. */
const MAX_INVITE_CHARS = 16 * 1024

const inviteSchema = z.strictObject({
  /** multiaddrs with /p2p/<id> to bootstrap from */
  bootstrap: z.array(z.string().min(1).max(512)).min(1).max(16),
  /** the swarm key file's bytes, base64 (private meshes only) */
  swarmKey: z.string().max(256).optional(),
  /** the mesh's operators: the new node's roots of trust for capability tokens */
  operators: z.array(z.string().max(128)).max(16).optional(),
  /**
   * a capability for the new node: a one-off key (protobuf, base64) and a
   * token delegated to it; at its first start the new node delegates it on
   * to its own identity with that key (so the token names a key the inviter
   * knew, and the chain still ends at the node)
   */
  grant: z.strictObject({ key: z.string().max(256), token: z.string().max(32 * 1024) }).optional(),
  /** epoch ms after which `init --join` refuses it */
  expires: z.number().int().positive()
})

export type Invite = z.infer<typeof inviteSchema>

/**
 * One string that lets a new machine join: where to bootstrap from and,
 * for a private mesh, its swarm key. Anyone holding it can join until it
 * expires, so it travels like a password. (The expiry bounds the invite;
 * the swarm key itself does not expire.)
 */
export function encodeInvite (invite: Invite): string {
  return INVITE_PREFIX + Buffer.from(JSON.stringify(inviteSchema.parse(invite))).toString('base64url')
}

/** Decode and check an invite; a malformed or expired one is an InvalidRequestError saying which. */
export function decodeInvite (text: string, now = Date.now()): Invite {
  const t = text.trim()
  if (t.length > MAX_INVITE_CHARS || !t.startsWith(INVITE_PREFIX)) throw new InvalidRequestError(`not a noodled invite (it starts with "${INVITE_PREFIX}")`)
  let invite: Invite
  try {
    invite = inviteSchema.parse(JSON.parse(Buffer.from(t.slice(INVITE_PREFIX.length), 'base64url').toString('utf8')))
  } catch {
    throw new InvalidRequestError('the invite is damaged (copy it whole, on one line)')
  }
  if (invite.expires <= now) throw new InvalidRequestError(`the invite expired at ${new Date(invite.expires).toISOString()}; ask for a new one (noodled invite create)`)
  return invite
}
