import type { PeerId } from '@libp2p/interface'
import { peerIdFromString } from '@libp2p/peer-id'
import { CID } from 'multiformats/cid'
import type { Replica } from '../registry/reconciler.js'
import { grantFor, type NodePolicy } from './grants.js'
import type { RuntimeModules, RuntimeRegistry } from './index.js'
import type { PoolSource } from './loaded-service.js'
import { checkTrusted } from './trust.js'

export interface ModuleSourceInit {
  modules: Pick<RuntimeModules, 'fetch' | 'catalog' | 'store'>
  registry: Pick<RuntimeRegistry, 'status'>
  self?: PeerId
  policy: NodePolicy
  /** the workers the service may run here */
  slotsFor: (service: string, requested: number) => number
}

/**
 * The other members running `service` (replicas this node sees as healthy,
 * those whose adverts list it first): they hold its module, so a new owner
 * asks them before the publisher and the DHT.
 */
export function otherReplicas (registry: Pick<RuntimeRegistry, 'status'>, service: string, self?: PeerId): PeerId[] {
  let instances
  try {
    instances = registry.status(service).instances
  } catch {
    return []
  }
  const me = self?.toString()
  return instances
    .filter(i => i.kind === 'replica' && i.healthy && i.peerId !== me)
    .sort((a, b) => Number(b.announced) - Number(a.announced))
    .map(i => peerIdFromString(i.peerId))
}

/**
 * What a replica's pool is made from: the module and its dependencies
 * fetched (verified, pinned), their publishers trusted, the grant (the
 * manifest's asks within this node's policy and the spec's capabilities) and
 * the workers it gets.
 */
export async function moduleSource (init: ModuleSourceInit, replica: Replica, signal: AbortSignal): Promise<PoolSource> {
  const { modules } = init
  const fetched = await modules.fetch(replica.spec.module!, { signal, likelyHolders: otherReplicas(init.registry, replica.service, init.self) })
  // fetched and verified, but nothing of it runs unless its publishers are trusted here
  checkTrusted(fetched.modules.map(m => m.cid), modules.catalog, init.policy.trustedPublishers)
  const root = fetched.modules[fetched.modules.length - 1]!
  const { manifest, wasm } = await modules.store.read(CID.parse(root.cid), { signal })
  // the rest of the lockfile, dependencies first, linked into the same sandbox by name
  const dependencies = []
  for (const m of fetched.modules.slice(0, -1)) dependencies.push({ name: m.name, wasm: (await modules.store.read(CID.parse(m.cid), { signal })).wasm })
  return {
    module: `${root.name}@${root.version}`,
    cid: root.cid,
    wasm,
    dependencies,
    exports: manifest.exports,
    grant: grantFor(manifest, init.policy, replica.spec.capabilities),
    slots: init.slotsFor(replica.service, replica.spec.requirements.slots)
  }
}
