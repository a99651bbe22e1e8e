import { lpStream } from '@libp2p/utils'
import { INBOUND_LIMITS, limitInbound } from '../inbound-limits.js'
import { z } from 'zod'
import type { Connection, Logger, PeerId, Stream } from '@libp2p/interface'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { MAX_ADVERT_ADDRS } from './constants.js'
import type { SyncEntry } from './member-table.js'
import type { SignedAdvert } from './relay.js'
import { decodeJson, encodeJson, labelsSchema, resourcesSchema } from './wire.js'
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
/**
 * The request: the asking member's own latest advert, signed by it (relay.ts),
 * or nothing. Not strict: a newer member may send more, which this version ignores.
 */
const requestSchema = z.object({
  advert: z.string().min(1).max(8 * 1024),
  sig: z.string().min(1).max(256)
}).or(z.object({}))
/** Enough for a pushed advert (4 KiB, in base64url) and its signature. */
const MAX_REQUEST_BYTES = 8 * 1024

// not strict: a newer neighbour may send more, which this version ignores
const responseSchema = z.object({
  members: z.array(entrySchema).max(10_000),
  down: z.array(downSchema).max(10_000).optional()
})

/** A member a neighbour suspects or has declared failed, as its member list reports it. */
export type DownEntry = z.output<typeof downSchema>

export interface SyncSnapshot {
  /** alive and suspect members, the answering node included */
  members: SyncEntry[]
  down: DownEntry[]
}

export interface MemberSyncInit {
  protocol: string
  log: Logger
  /** alive and suspect members this node knows (itself included), and those it suspects or has failed */
  snapshot: () => SyncSnapshot
  /** how long to serve one pull; read at each pull, so it can stretch with local health */
  timeoutMs: () => number
  onMalformed: () => void
  /** a neighbour pushed its own signed advert with its pull (not checked yet) */
  onPush: (from: PeerId, signed: SignedAdvert) => void
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
 * a stream between them.
 */
export class MemberSync {
  private readonly components: { registrar: Registrar, connectionManager: ConnectionManager }
  private readonly init: MemberSyncInit

  constructor (components: { registrar: Registrar, connectionManager: ConnectionManager }, init: MemberSyncInit) {
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

  async pull (peer: PeerId, options: { signal: AbortSignal, push?: SignedAdvert }): Promise<SyncSnapshot> {
    const stream = await this.components.connectionManager.openStream(peer, this.init.protocol, options)
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_SYNC_BYTES })
      await lp.write(encodeJson(options.push ?? {}), options)
      const res = decodeJson(responseSchema, (await lp.read(options)).subarray())
      await stream.close(options)
      return { members: res.members, down: res.down ?? [] }
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
      await lp.write(encodeJson(this.init.snapshot()), { signal })
      await stream.close({ signal })
    } catch (err: any) {
      this.init.log.trace('member sync with %p failed: %e', connection.remotePeer, err)
      stream.abort(err)
    }
  }
}
