import { parsePrincipal } from '../auth/did.js'
import { UntrustedModuleError } from '../interface/errors.js'

/** What the trust check needs of the module catalog. */
export interface PublisherSource {
  byCid: (cid: string) => { name: string, version: string, publisher: string } | undefined
}

/**
 * Module trust: with a `trustedPublishers` list in the node's policy, every
 * module version a service runs (its dependencies too) must be in the
 * catalog under one of them. A version the catalog does not know (a bare
 * CID) has no publisher and is refused. Throws UntrustedModuleError naming
 * the first one that fails.
 */
export function checkTrusted (cids: string[], catalog: PublisherSource, trusted: string[] | undefined): void {
  if (trusted == null || trusted.includes('*')) return
  const dids = new Set(trusted.map(t => parsePrincipal(t)))
  for (const cid of cids) {
    const entry = catalog.byCid(cid)
    if (entry == null) throw new UntrustedModuleError(`module ${cid} is not in the catalog, so its publisher is unknown; this node runs modules only from trusted publishers`)
    if (!dids.has(parsePrincipal(entry.publisher))) {
      throw new UntrustedModuleError(`${entry.name}@${entry.version} is published by ${entry.publisher}, which this node's policy does not trust (runtime.policy.trustedPublishers)`)
    }
  }
}
