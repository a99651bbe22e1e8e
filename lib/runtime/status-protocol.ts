import type { Connection, Logger, Stream } from '@libp2p/interface'
import { INBOUND_LIMITS, limitInbound } from '../inbound-limits.js'
import type { ConnectionManager, Registrar } from '@libp2p/interface-internal'
import { peerIdFromString } from '@libp2p/peer-id'
import { lpStream } from '@libp2p/utils'
import { z } from 'zod'
import type { RuntimeServiceView } from '../interface/api.js'
import { decodeJson, encodeJson } from '../json-codec.js'
import { SERVICE_NAME } from '../placement/constants.js'
import { timeoutSignal } from '../signals.js'

export const RUNTIME_STATUS_SUFFIX = '/runtime-status/1.0.0'
/** A status is a few KiB (20 history entries); more is a misbehaving peer. */
const MAX_STATUS_BYTES = 64 * 1024
const STATUS_TIMEOUT_MS = 5_000

const requestSchema = z.strictObject({ service: z.string().regex(SERVICE_NAME) })

const when = z.string().max(64)
const text = z.string().max(4096)
/**
 * What another owner says it runs. Only what this node acts on is checked
 * closely (state, the version and CID, the history's outcomes); the rest is
 * shown to operators as sent, within the size limit.
 */
const viewSchema = z.looseObject({
  service: z.string().regex(SERVICE_NAME),
  ref: z.string().max(256),
  state: z.enum(['loading', 'running', 'failed']),
  module: z.string().max(256).optional(),
  cid: z.string().max(256).optional(),
  instances: z.number().int().min(0),
  slots: z.number().int().min(0),
  error: text.optional(),
  since: when,
  probationUntil: when.optional(),
  history: z.array(z.strictObject({
    module: z.string().max(256),
    cid: z.string().max(256),
    at: when,
    outcome: z.enum(['running', 'replaced', 'failed', 'rolled back', 'halted']),
    error: text.optional()
  })).max(100)
})
const responseSchema = z.strictObject({ view: viewSchema.nullable() })

export interface RuntimeStatusComponents {
  registrar: Registrar
  connectionManager: ConnectionManager
}

/**
 * `/noodle/runtime-status/1.0.0`: ask an owner what it runs for a service
 * (one JSON request, one JSON answer, length-prefixed). Rolling updates
 * wait on it (an owner swaps once the owner before it runs the new version),
 * and `noodled service history` gathers every owner's history with it.
 */
export class RuntimeStatusProtocol {
  private readonly components: RuntimeStatusComponents
  private readonly protocol: string
  private readonly status: (service: string) => RuntimeServiceView | undefined
  private readonly log: Logger

  constructor (components: RuntimeStatusComponents, init: { protocol: string, status: (service: string) => RuntimeServiceView | undefined, log: Logger }) {
    this.components = components
    this.protocol = init.protocol
    this.status = init.status
    this.log = init.log
  }

  async start (): Promise<void> {
    await this.components.registrar.handle(this.protocol, limitInbound(this.protocol, INBOUND_LIMITS.status, (stream, connection) => { void this.serve(stream, connection) }), { maxInboundStreams: 16, maxOutboundStreams: 16 })
  }

  async stop (): Promise<void> {
    await this.components.registrar.unhandle(this.protocol)
  }

  /** What `peer` runs for `service` (null: nothing); throws when it cannot be asked or answers nonsense. */
  async query (peer: string, service: string, options: { signal?: AbortSignal } = {}): Promise<RuntimeServiceView | null> {
    const signal = AbortSignal.any([timeoutSignal(STATUS_TIMEOUT_MS), ...(options.signal != null ? [options.signal] : [])])
    const stream = await this.components.connectionManager.openStream(peerIdFromString(peer), this.protocol, { signal })
    try {
      const lp = lpStream(stream, { maxDataLength: MAX_STATUS_BYTES })
      await lp.write(encodeJson({ service }), { signal })
      const { view } = decodeJson(responseSchema, (await lp.read({ signal })).subarray())
      await stream.close({ signal })
      if (view != null && view.service !== service) throw new Error(`asked about "${service}", answered about "${view.service}"`)
      return view as RuntimeServiceView | null
    } catch (err: any) {
      stream.abort(err)
      throw err
    }
  }

  private async serve (stream: Stream, connection: Connection): Promise<void> {
    const signal = timeoutSignal(STATUS_TIMEOUT_MS)
    try {
      const lp = lpStream(stream, { maxDataLength: 1024 })
      const { service } = decodeJson(requestSchema, (await lp.read({ signal })).subarray())
      await lp.write(encodeJson({ view: this.status(service) ?? null }), { signal })
      await stream.close({ signal })
    } catch (err: any) {
      this.log.trace('runtime status for %p failed: %e', connection.remotePeer, err)
      stream.abort(err)
    }
  }
}
