import { parsePrincipal } from '../auth/did.js'
import { readFile } from 'node:fs/promises'
import { multiaddr } from '@multiformats/multiaddr'
import { z } from 'zod'
import { ConfigError } from '../interface/errors.js'
import { firstIssue } from '../validation.js'
import { CONFIG_VERSION, DEFAULT_LISTEN, LOG_LEVELS, PROFILES, type LogLevel, type ProfileName } from './constants.js'
import { DEFAULT_PROTOCOL_PREFIX, LABEL_KEY, MAX_LABEL_VALUE } from '../constants.js'

export { PROFILES, LOG_LEVELS, type ProfileName, type LogLevel }

function isMultiaddr (value: string): boolean {
  try {
    multiaddr(value)
    return value.startsWith('/')
  } catch {
    return false
  }
}

const ms = z.number().int().positive().max(7 * 24 * 3600_000)

const maddr = z.string().refine(isMultiaddr, { error: (iss) => `not a valid multiaddr: ${JSON.stringify(iss.input)}` })

/**
 * `config.json`. Every key is optional and unknown keys are refused, so a typo
 * is an error instead of a silently ignored setting.
 */

/** `HOST:PORT` a daemon listens on (an IPv6 host in brackets); port 0 picks a free one. */
function listenAddress (example: string): z.ZodString {
  return z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: `must be HOST:PORT, e.g. ${example}` })
    .refine(v => { const port = Number(v.slice(v.lastIndexOf(':') + 1)); return port >= 0 && port <= 65535 }, { error: 'the port must be 0-65535' })
}

export const configSchema = z.strictObject({
  version: z.literal(CONFIG_VERSION).default(CONFIG_VERSION),
  profile: z.enum(PROFILES).default('lan'),
  listen: z.array(maddr).min(1).default(DEFAULT_LISTEN),
  announce: z.array(maddr).default([]),
  bootstrap: z.array(maddr).default([]),
  protocolPrefix: z.string().regex(/^(\/[A-Za-z0-9._-]+)+$/, { error: 'must look like "/noodle" (slash-separated, no trailing slash)' }).default(DEFAULT_PROTOCOL_PREFIX),
  logLevel: z.enum(LOG_LEVELS).default('info'),
  /** advertised in membership; `noodled label set/rm` layers runtime changes over these */
  labels: z.record(z.string().regex(LABEL_KEY, { error: 'label keys are letters, digits and . _ / - (max 63)' }), z.string().max(MAX_LABEL_VALUE)).default({}),
  /** `HOST:PORT` of the TCP control API (bearer token in the repo's api.token); none when absent */
  api: z.string().regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9.-]+):\d{1,5}$/, { error: 'must be HOST:PORT, e.g. 127.0.0.1:5001' }).optional(),
  /** `HOST:PORT` of the HTTP gateway (`POST /svc/<service>/<fn>`); none when absent; port 0 picks a free one */
  gateway: listenAddress('127.0.0.1:8080').optional(),
  /** `HOST:PORT` of the web console (docs/console.md); none when absent; port 0 picks a free one */
  ui: listenAddress('127.0.0.1:5080').optional(),
  rpc: z.strictObject({
    /** largest request or response payload of a mesh call, in bytes (default 4 MiB) */
    maxMessageBytes: z.number().int().min(1024).max(64 * 1024 * 1024).optional()
  }).default({}),
  membership: z.strictObject({
    /** timing preset; defaults to the profile's name (local or lan) */
    timing: z.enum(['local', 'lan', 'wan']).optional(),
    advertIntervalMs: ms.optional(),
    maxAdvertRate: z.number().positive().max(1000).optional(),
    probeIntervalMs: ms.optional(),
    missAfterMs: ms.optional(),
    probeTimeoutMs: ms.optional(),
    indirectProbes: z.number().int().min(0).max(16).optional(),
    indirectTimeoutMs: ms.optional(),
    suspicionMinMs: ms.optional(),
    suspicionMaxFactor: z.number().min(1).max(100).optional(),
    tickMs: ms.optional(),
    upkeepIntervalMs: ms.optional(),
    syncIntervalMs: ms.optional(),
    reapAfterMs: ms.optional(),
    lagPerHealthPointMs: ms.optional(),
    /** host load average per CPU, beyond the first, per point of local health; 0 = off */
    loadPerHealthPoint: z.number().min(0).max(1000).optional(),
    /** the highest local health score (timeouts stretch at most 1 + this times) */
    maxLocalHealth: z.number().int().min(0).max(1000).optional(),
    /** connections kept to random members besides the ring neighbours */
    targetPeers: z.number().int().min(0).max(1000).optional(),
    /** ring successors each member probes (its monitors' count) */
    monitors: z.number().int().min(1).max(16).optional(),
    /** worker slots this node offers; default: its CPU count */
    workerSlots: z.number().int().min(0).max(100_000).optional()
  }).default({}),
  /** the module runtime: the most any module may have on this node, and instances per service */
  runtime: z.strictObject({
    policy: z.strictObject({
      log: z.boolean().optional(),
      kv: z.boolean().optional(),
      /** services modules may call: names, `prefix*`, or `*` */
      call: z.array(z.string().max(64)).max(256).optional(),
      /** hosts modules may reach over HTTP: names, `*.domain`, or `*` */
      http: z.array(z.string().max(256)).max(256).optional(),
      /** directories modules may read under */
      paths: z.array(z.string().regex(/^\/[^\0]*$/, { error: 'an absolute path' }).max(1024)).max(64).optional(),
      maxMemoryPages: z.number().int().min(1).max(65_536).optional(),
      maxTimeoutMs: z.number().int().min(1).max(10 * 60_000).optional(),
      /** publishers whose modules this node runs (peer ids or did:keys, or *); absent: any */
      trustedPublishers: z.array(z.string().max(128).refine(v => { if (v === '*') return true; try { parsePrincipal(v); return true } catch { return false } }, { error: 'a trusted publisher is a peer id, a did:key or *' })).max(256).optional()
    }).default({}),
    instancesPerService: z.number().int().min(1).max(64).optional(),
    /** how long a new version is watched for an error-rate spike after an update (ms, default 10 s); the next owner's swap waits for it */
    probationMs: z.number().int().min(0).max(3_600_000).optional(),
    /** Extism workers kept started for new module instances (default 1; 0 for none) */
    spareWorkers: z.number().int().min(0).max(16).optional()
  }).default({ policy: {} }),
  /** knowledge graphs: replicas of each graph besides its owner (default 2) */
  knowledge: z.strictObject({
    replicas: z.number().int().min(0).max(16).optional()
  }).default({}),
  /**
   * capability tokens: the operators' did:keys (or Ed25519 peer ids) are the
   * roots of trust; with none, this node checks no mesh operation (an open mesh)
   */
  auth: z.strictObject({
    operators: z.array(z.string().max(128).refine(v => { try { parsePrincipal(v); return true } catch { return false } }, { error: 'an operator is an Ed25519 did:key or peer id' })).max(16).default([])
  }).default({ operators: [] })
})

export type Config = z.output<typeof configSchema>
export type ConfigInput = z.input<typeof configSchema>

/**
 * Validate a parsed config object. `file` names the source in errors; the
 * first problem is reported with the key it concerns.
 */
export function parseConfig (value: unknown, file: string): Config {
  const result = configSchema.safeParse(value)
  if (result.success) {
    return result.data
  }
  if (result.error.issues.length === 0) {
    throw new ConfigError(`invalid config in ${file}`, file)
  }
  const { key, message } = firstIssue(result.error)
  if (key === '') {
    return fail(message, file)
  }
  return fail(message.startsWith('unknown key') ? message : `key ${message}`, file, key)
}

function fail (what: string, file: string, key?: string): never {
  throw new ConfigError(`invalid config ${file}: ${what}`, file, key)
}

/** Read and validate `config.json`. Never writes. */
export async function loadConfig (file: string): Promise<Config> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err: any) {
    if (err.code === 'ENOENT') {
      throw new ConfigError(`config file ${file} does not exist; run \`noodled init\``, file)
    }
    throw new ConfigError(`cannot read config file ${file}: ${err.message}`, file)
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err: any) {
    throw new ConfigError(`invalid config ${file}: not valid JSON (${err.message})`, file)
  }
  return parseConfig(value, file)
}
