import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import type { PlacementMember } from '../../lib/placement/index.js'
import { parseServiceSpec, type ServiceSpec, type ServiceSpecInput } from '../../lib/placement/index.js'

const GiB = 1024 * 1024 * 1024

/**
 * Real Ed25519 peer ids (placement hashes their multihash as kad-dht does),
 * the same on every run: derived from seeds, so property bounds do not
 * depend on the luck of the keys.
 */
export async function peerIds (n: number, seed = 1): Promise<string[]> {
  return Promise.all(Array.from({ length: n }, async (_, i) => {
    const bytes = new Uint8Array(32)
    new DataView(bytes.buffer).setUint32(0, seed)
    new DataView(bytes.buffer).setUint32(4, i)
    return peerIdFromPrivateKey(await generateKeyPairFromSeed('Ed25519', bytes)).toString()
  }))
}

export function member (peerId: string, over: Partial<PlacementMember> = {}): PlacementMember {
  return {
    peerId,
    status: 'alive',
    statusForMs: 60_000,
    resources: { cpus: 8, memTotal: 16 * GiB, slotsTotal: 8 },
    labels: {},
    ...over
  }
}

export function spec (input: ServiceSpecInput): ServiceSpec {
  return parseServiceSpec(input)
}

/** n services with 1-3 replicas and no requirements, named svc-0.. */
export function services (n: number, random: () => number): ServiceSpec[] {
  return Array.from({ length: n }, (_, i) => spec({ name: `svc-${i}`, replicas: 1 + Math.floor(random() * 3) }))
}

export function shuffled<T> (items: T[], random: () => number): T[] {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1))
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}
