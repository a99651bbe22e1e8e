import { CapabilityDeniedError } from '../interface/errors.js'
import type { Manifest } from '../modules/manifest.js'
import { serviceAllowed } from './host.js'

/** What a module may do beyond computing: the host functions and resources behind each. */
export interface Capabilities {
  log: boolean
  /** get/put/delete in the service's own key-value namespace */
  kv: boolean
  /** mesh services it may call */
  call: string[]
  /** hosts it may make HTTP requests to */
  http: string[]
  /** host paths it may read under */
  paths: string[]
}

/**
 * A node's policy: the most it lets any module have. Lists hold patterns:
 * `*` for anything, `prefix*` for services, `*.example.com` for hosts, and
 * directories (a path under one is allowed) for paths.
 */
export interface NodePolicy extends Capabilities {
  maxMemoryPages: number
  maxTimeoutMs: number
  /**
   * publishers (peer ids or did:keys) whose modules this node runs; absent:
   * any (in a mesh with operators, a publish already needs a module/publish
   * token); `*` also means any
   */
  trustedPublishers?: string[]
}

/** What one service's module gets: requested ∩ policy ∩ deploy, and its bounds. */
export interface Grant extends Capabilities {
  memoryPages: number
  timeoutMs: number
  /** what the manifest asked for and this node's policy or the deploy did not grant */
  withheld: string[]
}

/** Log, kv and calls to any service; no HTTP, no files; 64 MiB and 30 s at most. */
export const DEFAULT_POLICY: NodePolicy = { log: true, kv: true, call: ['*'], http: [], paths: [], maxMemoryPages: 1024, maxTimeoutMs: 30_000 }


const hostAllowed = (host: string, patterns: string[]): boolean =>
  patterns.some(p => p === '*' || p === host || (p.startsWith('*.') && (host.endsWith(p.slice(1)) || (host.startsWith('*.') && host.endsWith(p.slice(1))))))

const pathAllowed = (path: string, dirs: string[]): boolean =>
  dirs.some(d => d === '*' || path === d || path.startsWith(d.endsWith('/') ? d : `${d}/`))

/**
 * The grant for a module on this node. A deploy may narrow what the
 * manifest asks for; a deploy that asks for more than the node's policy
 * allows is refused (CapabilityDeniedError, naming each excess). What the
 * manifest asks for beyond policy and deploy is withheld, not refused: the
 * module runs, and a call that needs it is denied then. Memory and time are
 * the manifest's, capped by the policy.
 */
export function grantFor (manifest: Pick<Manifest, 'capabilities' | 'resources'>, policy: NodePolicy, deploy?: Partial<Capabilities>): Grant {
  const excess: string[] = []
  if (deploy?.log === true && !policy.log) excess.push('log')
  if (deploy?.kv === true && !policy.kv) excess.push('kv')
  for (const s of deploy?.call ?? []) if (!serviceAllowed(s, policy.call)) excess.push(`call ${s}`)
  for (const h of deploy?.http ?? []) if (!hostAllowed(h, policy.http)) excess.push(`http ${h}`)
  for (const p of deploy?.paths ?? []) if (!pathAllowed(p, policy.paths)) excess.push(`path ${p}`)
  if (excess.length > 0) throw new CapabilityDeniedError(`the deploy asks for more than this node's policy allows: ${excess.join(', ')}`)

  const asked = manifest.capabilities
  const withheld: string[] = []
  const allowed = <T>(want: boolean, what: string, byPolicy: boolean, byDeploy: boolean): boolean => {
    if (!want) return false
    if (byPolicy && byDeploy) return true
    withheld.push(what)
    return false
  }
  const list = (items: string[], kind: string, inPolicy: (x: string) => boolean, inDeploy: (x: string) => boolean): string[] =>
    items.filter(x => allowed(true, `${kind} ${x}`, inPolicy(x), inDeploy(x)))
  return {
    log: allowed(asked.log, 'log', policy.log, deploy?.log ?? true),
    kv: allowed(asked.kv, 'kv', policy.kv, deploy?.kv ?? true),
    call: list(asked.call, 'call', s => serviceAllowed(s, policy.call), s => deploy?.call == null || serviceAllowed(s, deploy.call)),
    http: list(asked.http, 'http', h => hostAllowed(h, policy.http), h => deploy?.http == null || hostAllowed(h, deploy.http)),
    paths: list(asked.paths, 'path', p => pathAllowed(p, policy.paths), p => deploy?.paths == null || pathAllowed(p, deploy.paths)),
    memoryPages: Math.min(manifest.resources.memoryPages, policy.maxMemoryPages),
    timeoutMs: Math.min(manifest.resources.timeoutMs, policy.maxTimeoutMs),
    withheld
  }
}
