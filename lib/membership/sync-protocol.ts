import { lpStream } from '@libp2p/utils'
import { INBOUND_LIMITS, limitInbound } from '../inbound-limits.js'
import { z } from 'zod'
import type { Connection, Logger, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { MAX_ADVERT_ADDRS } from './constants.js'
import type { SyncEntry } from './member-table.js'
import type { SignedAdvert } from './relay.js'
import { labelsSchema, resourcesSchema } from './wire.js'
import { decodeJson, encodeJson } from '../json-codec.js'
import { timeoutSignal } from '../signals.js'

/** A member list of a few hundred entries fits easily. */
export const MAX_SYNC_BYTES = 1024 * 1024

const entrySchema = z.strictObject({
  peerId: z.string().min(1).max(128),
  incarnation: z.number().int().nonnegative(),
  addrs: z.array(z.string().max(256)).max(MAX_ADVERT_ADDRS),
  resources: resourcesSchema,
  labels: labelsSchema,
  services: z.array(z.string().max(128)).max(64),
  version: z.string().max(64)
})
const downSchema = z.strictObject({
  peerId: z.string().min(1).max(128),
  incarnation: z.number().int().nonnegative(),
  status: z.enum(['suspect', 'failed'])
})
/** A member's own advert in its encoding, and the member's signature of it (relay.ts). */
const signedSchema = z.object({
  advert: z.string().min(1).max(8 * 1024),
  sig: z.string().min(1).max(256)
})

/** How the asking member holds the answering one, when it holds it suspect or failed. */
const youSchema = downSchema.omit({ peerId: true })
/**
 * The request: the asking member's own latest advert, signed by it (relay.ts),
 * or nothing; and `you` when the asker holds the answerer suspect or failed.
 * Not strict: a newer member may send more, which this version ignores (an
 * older one ignores `you`).
 */
const requestSchema = signedSchema.extend({ you: youSchema.optional() }).or(z.object({ you: youSchema.optional() }))
/** Enough for a pushed advert (4 KiB, in base64url) and its signature. */
const MAX_REQUEST_BYTES = 8 * 1024

// not strict: a newer neighbour may send more, which this version ignores
const responseSchema = z.object({
  members: z.array(entrySchema).max(10_000),
  down: z.array(downSchema).max(10_000).optional(),
  /** the answering member's own latest advert, signed by it; absent from older versions */
  self: signedSchema.optional()
})

/** A member a neighbour suspects or has declared failed, as its member list reports it. */
export type DownEntry = z.output<typeof downSchema>
/** How a pulling member holds the member it pulls from (suspect or failed, and of which incarnation). */
export type HeldDown = z.output<typeof youSchema>

export interface SyncSnapshot {
  /** alive and suspect members, the answering node included */
  members: SyncEntry[]
  down: DownEntry[]
}

/** What a pull returns: the neighbour's lists, and its own signed advert when it sent one. */
export interface SyncAnswer extends SyncSnapshot {
  self?: SignedAdvert
}

export interface SyncProtocolInit {
  protocol: string
  log: Logger
  /** alive and suspect members this node knows (itself included), and those it suspects or has failed */
  snapshot: () => SyncSnapshot
  /** this node's own latest advert, signed, sent with every answer so the asker can verify and pass it on */
  signedSelf: () => Promise<SignedAdvert | undefined>
  /** how long to serve one pull; read at each pull, so it can stretch with local health */
  timeoutMs: () => number
  onMalformed: () => void
  /** a neighbour pushed its own signed advert with its pull (not checked yet) */
  onPush: (from: PeerId, signed: SignedAdvert) => void
  /**
   * a neighbour pulling from this node holds it suspect or failed: the answer
   * waits for this, so a refutation's fresh advert can go with it as `self`
   */
  onHeldDown: (from: PeerId, held: HeldDown, signal: AbortSignal) => Promise<void>
}

/**
 * Push-pull catch-up for newcomers (memberlist does the same on join): a node
 * that has just connected asks that neighbour for its list of alive members
 * instead of waiting for each member's next advert, which in a large mesh is
 * several seconds away. The list also names the members the neighbour
 * suspects or has failed, so a node that missed those claims (it was
 * joining, or gossip skipped it) hears of them at the next pull. The asking
 * node pushes its own signed advert with the request, so the neighbour
 * learns of a newcomer, and can pass it on to the mesh, before gossipsub has
 * a stream between them; the neighbour answers with its own, so a member
 * each held failed (two sides of a healed partition) is revived on both
 * ends by one exchange. An asker that holds the neighbour suspect or failed
 * says so, and the neighbour refutes before it answers: otherwise it would
 * hear of its failure only from a pull of its own, and its unchanged advert
 * would not revive it.
 */
export class SyncProtocol {
  private readonly components: { registrar: Registrar, connectionManager: ConnectionManager }
  private readonly init: SyncProtocolInit

  constructor (components: { registrar: Registrar, connectionManager: ConnectionManager }, init: SyncProtocolInit) {
    this.components = components
    this.init = init
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(this.init.protocol, limitInbound(this.init.protocol, INBOUND_LIMITS.sync, (stream, connection) => {
      void this.handle(stream, connection)
    }), { maxInboundStreams: 8, maxOutboundStreams: 4 })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(this.init.protocol)
  }

  async pull (peer: PeerId, options: { signal: AbortSignal, push?: SignedAdvert, you?: HeldDown }): Promise<SyncAnswer> {
    const stream = await this.components.connectionManager.openStream(peer, this.init.protocol, options)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_SYNC_BYTES })
      await lp.write(encodeJson({ ...options.push, ...(options.you != null ? { you: options.you } : {}) }), options)
      const res = decodeJson(responseSchema, (await lp.read(options)).subarray())
      await stream.close(options)
      return { members: res.members, down: res.down ?? [], ...(res.self != null ? { self: { advert: res.self.advert, sig: res.self.sig } } : {}) }
    } catch (err: any) {
      stream.abort(err)
      throw err
    }
  }

  private async handle (stream: Stream, connection: Connection): Promise<void> {
    const signal = timeoutSignal(this.init.timeoutMs())
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_REQUEST_BYTES })
      let req: z.output<typeof requestSchema>
      try {
        req = decodeJson(requestSchema, (await lp.read({ signal })).subarray())
      } catch (err) {
        this.init.onMalformed()
        throw err
      }
      if ('advert' in req) this.init.onPush(connection.remotePeer, { advert: req.advert, sig: req.sig })
      if (req.you != null) await this.init.onHeldDown(connection.remotePeer, req.you, signal)
      const self = await this.init.signedSelf()
      await lp.write(encodeJson({ ...this.init.snapshot(), ...(self != null ? { self } : {}) }), { signal })
      await stream.close({ signal })
    } catch (err: any) {
      this.init.log.trace('member sync with %p failed: %e', connection.remotePeer, err)
      stream.abort(err)
    }
  }
}
