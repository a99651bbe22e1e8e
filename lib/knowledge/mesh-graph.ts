import type { MemberView, ModuleListView, ServiceSpecView } from '../interface/api.js'

/** The mesh's own vocabulary; schema.org terms where one fits (docs/knowledge.md, "The mesh describes itself"). */
export const NOODLE = 'urn:noodle:vocab:'
const SCHEMA = 'https://schema.org/'
const RDF_TYPE = 'http://www.w3.org/1999/02/22-rdf-syntax-ns#type'
const XSD = 'http://www.w3.org/2001/XMLSchema#'

/** What the daemon knows of the mesh right now. */
export interface MeshSnapshot {
  members: MemberView[]
  services: Array<{ name: string, replicas: number, spec: ServiceSpecView, owners: string[], instances: Array<{ peerId: string, kind: string, healthy: boolean }> }>
  modules: ModuleListView[]
  /** every graph of the mesh (the catalog's, this daemon's own included); `owner` defaults to this daemon */
  graphs: Array<{ iri: string, version: number, hash: string, quads: number, owner?: string, holders?: string[] }>
  /** this daemon's peer id: graphs here are its own */
  self: string
}

export const memberIri = (peerId: string): string => `urn:noodle:member:${peerId}`
export const serviceIri = (name: string): string => `urn:noodle:service:${encodeURIComponent(name)}`
export const moduleIri = (cid: string): string => `urn:noodle:module:${cid}`

/** An N-Triples literal: numbers and booleans typed by XSD, a string escaped (with `datatype` when given). */
export const lit = (s: string | number | boolean, datatype?: string): string => {
  if (typeof s === 'number') return Number.isInteger(s) ? `"${s}"^^<${XSD}integer>` : `"${s}"^^<${XSD}decimal>`
  if (typeof s === 'boolean') return `"${String(s)}"^^<${XSD}boolean>`
  return `"${s.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}"${datatype != null ? `^^<${datatype}>` : ''}`
}

/**
 * The mesh as this daemon sees it, as N-Triples: members (status,
 * incarnation, version, addresses, labels as `key=value`, resources),
 * services (spec, owners, the members their healthy instances run on),
 * module versions (name, version, CID, publisher, dependencies) and
 * knowledge graphs (owner, version, hash). One SPARQL query then answers
 * questions across all of them, such as which services run modules
 * published by X on members labelled zone=a.
 */
export function meshTriples (mesh: MeshSnapshot): string {
  const out: string[] = []
  const t = (s: string, p: string, o: string): void => { out.push(`<${s}> <${p}> ${o} .`) }
  const iri = (s: string): string => `<${s}>`
  for (const m of mesh.members) {
    const s = memberIri(m.peerId)
    t(s, RDF_TYPE, iri(`${NOODLE}Member`))
    t(s, `${NOODLE}peerId`, lit(m.peerId))
    t(s, `${NOODLE}status`, lit(m.status))
    t(s, `${NOODLE}incarnation`, lit(m.incarnation))
    t(s, `${SCHEMA}softwareVersion`, lit(m.version))
    if (m.self) t(s, `${NOODLE}isSelf`, lit(true))
    for (const a of m.addrs) t(s, `${NOODLE}address`, lit(a))
    for (const [k, v] of Object.entries(m.labels)) t(s, `${NOODLE}label`, lit(`${k}=${v}`))
    const r = m.resources
    t(s, `${NOODLE}cpus`, lit(r.cpus))
    t(s, `${NOODLE}memTotalBytes`, lit(r.memTotal))
    t(s, `${NOODLE}memFreeBytes`, lit(r.memFree))
    t(s, `${NOODLE}slotsTotal`, lit(r.slotsTotal))
    t(s, `${NOODLE}slotsUsed`, lit(r.slotsUsed))
    t(s, `${NOODLE}loopLagMs`, lit(Math.round(r.loopLagMs * 100) / 100))
  }
  for (const svc of mesh.services) {
    const s = serviceIri(svc.name)
    t(s, RDF_TYPE, iri(`${NOODLE}Service`))
    t(s, `${SCHEMA}name`, lit(svc.name))
    t(s, `${NOODLE}replicas`, lit(svc.replicas))
    if (svc.spec.module != null) {
      t(s, `${NOODLE}moduleRange`, lit(svc.spec.module))
      t(s, `${NOODLE}moduleName`, lit(svc.spec.module.replace(/@[^@]*$/, '')))
    }
    for (const [k, v] of Object.entries(svc.spec.requirements.labels)) t(s, `${NOODLE}requiresLabel`, lit(`${k}=${v}`))
    for (const o of svc.owners) t(s, `${NOODLE}owner`, iri(memberIri(o)))
    for (const i of svc.instances) if (i.healthy) t(s, `${NOODLE}runsOn`, iri(memberIri(i.peerId)))
  }
  for (const mod of mesh.modules) {
    const s = moduleIri(mod.cid)
    t(s, RDF_TYPE, iri(`${NOODLE}ModuleVersion`))
    t(s, `${SCHEMA}name`, lit(mod.name))
    t(s, `${SCHEMA}version`, lit(mod.version))
    t(s, `${NOODLE}cid`, lit(mod.cid))
    if (mod.publisher !== '') t(s, `${SCHEMA}publisher`, iri(memberIri(mod.publisher)))
    for (const [name, range] of Object.entries(mod.dependencies)) t(s, `${NOODLE}dependsOn`, lit(`${name}@${range}`))
  }
  for (const g of mesh.graphs) {
    t(g.iri, RDF_TYPE, iri(`${NOODLE}Graph`))
    t(g.iri, `${NOODLE}owner`, iri(memberIri(g.owner ?? mesh.self)))
    for (const h of g.holders ?? []) t(g.iri, `${NOODLE}heldBy`, iri(memberIri(h)))
    t(g.iri, `${NOODLE}version`, lit(g.version))
    t(g.iri, `${NOODLE}hash`, lit(g.hash))
    t(g.iri, `${NOODLE}quads`, lit(g.quads))
  }
  return out.join('\n') + (out.length > 0 ? '\n' : '')
}
