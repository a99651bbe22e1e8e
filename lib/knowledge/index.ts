import { Knowledge, type KnowledgeComponents, type KnowledgeInit } from './knowledge.js'

export { Knowledge, type KnowledgeComponents, type KnowledgeInit, type KnowledgeQueryOptions, type KnowledgeQueryResult, type QueryScope, type QuerySource, type KnowledgeStats } from './knowledge.js'
export { GraphStore } from './graph-store.js'

/** The knowledge graphs across the mesh as a libp2p service: the catalog, replicas, and mesh queries over `init.store`. */
export function knowledge (init: KnowledgeInit): (components: KnowledgeComponents) => Knowledge {
  return (components) => new Knowledge(components, init)
}
