import type { Libp2pEvents, ComponentLogger, Metrics, PeerId, PeerStore, PrivateKey, TypedEventTarget } from '@libp2p/interface'
import type { AddressManager, ConnectionManager, Registrar } from '@libp2p/interface-internal'
import type { GossipSub } from '@libp2p/gossipsub'
import type { Datastore } from 'interface-datastore'
import type { MemberEventView } from '../interface/api.js'
import { Membership } from './membership.js'
import type { TimingPreset, TimingPresetName } from './presets.js'

export interface MembershipInit extends Partial<TimingPreset> {
  /** @default 'lan' */
  timing?: TimingPresetName
  /** labels from config; runtime `label set/rm` are layered over them and persisted */
  labels?: Record<string, string>
  /** @default '/noodle' */
  protocolPrefix?: string
  /** directory whose free disk space is advertised */
  repoPath?: string
  /** worker slots advertised; @default availableParallelism() */
  workerSlots?: number
  /** connections kept to random members besides the ring neighbours. @default 5 */
  targetPeers?: number
  /** ring successors each member probes; every member then has this many monitors. @default 3 */
  monitors?: number
  /** idle outbound connections outside the view are closed after this long (tests shorten it). @default 30 s */
  trimIdleAfterMs?: number
  /** software version put in adverts */
  version?: string
}

export interface MembershipComponents {
  peerId: PeerId
  addressManager: AddressManager
  connectionManager: ConnectionManager
  registrar: Registrar
  peerStore: PeerStore
  events: TypedEventTarget<Libp2pEvents>
  logger: ComponentLogger
  datastore: Datastore
  metrics?: Metrics
  pubsub: GossipSub
  privateKey: PrivateKey
}

export interface MembershipEvents {
  member: CustomEvent<MemberEventView>
}

export { Membership } from './membership.js'
export { MemberTable, type Member, type MemberEvent } from './member-table.js'
export { TIMING_PRESETS, TIMING_PRESET_NAMES, type TimingPreset, type TimingPresetName } from './presets.js'
export { suspicionTimeout } from './suspicion.js'
export { LocalHealth } from './local-health.js'
export * from './wire.js'
export * from './constants.js'

export function membership (init: MembershipInit = {}): (components: MembershipComponents) => Membership {
  return (components) => new Membership(components, init)
}
