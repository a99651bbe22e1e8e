import { serviceDependencies, serviceCapabilities, type Logger, type PeerId, type Startable } from '@libp2p/interface'
import type { MemberEventView } from '../interface/api.js'
import { RpcClient, type CallOptions, type CallResult } from './client.js'
import { DEFAULT_MAX_MESSAGE_BYTES, RPC_PROTOCOL_SUFFIX } from './constants.js'
import type { RpcComponents, RpcInit, RpcStats } from './index.js'
import { RpcServer } from './server.js'

/**
 * Mesh RPC (`/noodle/rpc/1.0.0`): call any service from any daemon
 * (`call`), and serve the calls that reach this daemon's own instances.
 */
export class Rpc implements Startable {
  readonly protocol: string
  readonly maxMessageBytes: number
  private readonly components: RpcComponents
  private readonly server: RpcServer
  private readonly client: RpcClient
  private readonly log: Logger
  private started = false

  private readonly onMember = (evt: CustomEvent<MemberEventView>): void => {
    const e = evt.detail
    if (e.type === 'suspect') this.client.memberSuspect(e.peerId)
    else if (e.type === 'failed' || e.type === 'left') this.client.memberDown(e.peerId, e.type)
  }

  private readonly onDisconnect = (evt: CustomEvent<PeerId>): void => {
    this.client.memberDown(evt.detail.toString(), 'disconnected')
  }

  constructor (components: RpcComponents, init: RpcInit = {}) {
    this.components = components
    this.protocol = `${init.protocolPrefix ?? '/noodle'}${RPC_PROTOCOL_SUFFIX}`
    this.maxMessageBytes = init.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES
    this.log = components.logger.forComponent('noodled:rpc')
    this.server = new RpcServer(components.registrar, {
      protocol: this.protocol,
      maxMessageBytes: this.maxMessageBytes,
      localEndpoint: (service) => components.runtime?.endpoint(service) ?? components.registry.localEndpoint(service),
      starting: (service) => components.registry.ownsModuleService?.(service) ?? false,
      log: this.log
    })
    this.client = new RpcClient({
      self: components.peerId.toString(),
      protocol: this.protocol,
      maxMessageBytes: this.maxMessageBytes,
      connectionManager: components.connectionManager,
      resolve: async (service, options) => components.registry.resolve(service, options),
      cached: (service) => components.registry.resolveCached?.(service),
      invokeLocal: async (service, fn, payload, timeoutMs, signal) => this.server.invoke(service, fn, payload, timeoutMs, signal),
      log: this.log
    })
  }

  readonly [Symbol.toStringTag] = 'noodled/rpc'
  readonly [serviceCapabilities]: string[] = ['noodled:rpc']
  readonly [serviceDependencies]: string[] = ['noodled:registry', 'noodled:membership']

  isStarted (): boolean {
    return this.started
  }

  async start (): Promise<void> {
    if (this.started) return
    await this.server.start()
    this.components.membership.addEventListener('member', this.onMember)
    this.components.events.addEventListener('peer:disconnect', this.onDisconnect)
    this.started = true
  }

  async stop (): Promise<void> {
    if (!this.started) return
    this.started = false
    this.components.membership.removeEventListener('member', this.onMember)
    this.components.events.removeEventListener('peer:disconnect', this.onDisconnect)
    this.client.close()
    await this.server.stop()
  }

  /**
   * Call `fn` of `service` on one of its live instances, wherever it runs.
   * Throws ServiceNotFoundError (nobody knows the service), NoInstanceError
   * (no live instance), DeadlineExceededError, PayloadTooLargeError,
   * InstanceUnreachableError (the instance failed and the call could not be
   * retried), or the error the service itself answered with.
   */
  async call (service: string, fn: string, payload: Uint8Array, options: CallOptions = {}): Promise<CallResult> {
    return this.client.call(service, fn, payload, options)
  }

  stats (): RpcStats {
    return { client: { ...this.client.counters, ejections: this.client.balancer.ejections }, server: { ...this.server.counters } }
  }
}

