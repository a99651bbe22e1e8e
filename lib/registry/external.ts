import { TypedEventEmitter, type Logger } from '@libp2p/interface'
import { Key, type Datastore } from 'interface-datastore'
import { z } from 'zod'
import { ConflictError, InvalidRegistrationError, ServiceNotFoundError } from '../interface/errors.js'
import { SERVICE_NAME } from '../placement/constants.js'
import { firstIssue } from '../validation.js'
import { checkSchema, runCheck, type Check, type CheckStatus } from './checks.js'
import { BUILTIN_HANDLERS } from '../rpc/handlers.js'
import { isSocketEndpoint, parseSocketEndpoint } from '../rpc/socket-endpoint.js'
import { EXTERNAL_PREFIX, MAX_EXTERNAL_SERVICES } from './constants.js'

/**
 * A process running beside this daemon that joins the mesh as an instance of
 * a service (Consul's agent service registration): where it listens, and how
 * its health is checked.
 */
/** Endpoints served inside the daemon (`builtin:echo`): the RPC layer's built-in handlers. */
const BUILTIN_ENDPOINTS = Object.keys(BUILTIN_HANDLERS).map(n => `builtin:${n}`)

/** An http(s) URL, an rpc+unix or rpc+tcp socket, or a built-in endpoint's name. */
function isEndpoint (value: string): boolean {
  if (BUILTIN_ENDPOINTS.includes(value)) return true
  if (isSocketEndpoint(value)) return parseSocketEndpoint(value) != null
  try {
    const url = new URL(value)
    return (url.protocol === 'http:' || url.protocol === 'https:') && url.hostname !== ''
  } catch {
    return false
  }
}

export const registrationSchema = z.strictObject({
  name: z.string().regex(SERVICE_NAME, { error: 'lower-case letters, digits and -, 1-63 characters, not starting or ending with -' }),
  endpoint: z.string().max(1024).refine(isEndpoint, {
    error: `must be an http:// or https:// URL, rpc+unix:///absolute/path or rpc+tcp://host:port, or one of ${BUILTIN_ENDPOINTS.join(', ')}`
  }),
  check: checkSchema.optional()
}).refine(r => !(r.endpoint.startsWith('builtin:') && r.check != null && r.check.type !== 'ttl'), {
  error: 'a built-in endpoint runs inside the daemon: only a ttl check applies to it',
  path: ['check']
}).refine(r => !(isSocketEndpoint(r.endpoint) && r.check?.type === 'http'), {
  error: 'a socket endpoint speaks RPC frames, not HTTP: use a tcp check (a connection is accepted) or a ttl check',
  path: ['check']
})

export type Registration = z.output<typeof registrationSchema>

export interface ExternalInstance {
  name: string
  endpoint: string
  check?: Check
  /** passing without a check; critical until its first passing check */
  status: CheckStatus
  /** the last check's outcome, or why it is critical */
  output: string
  /** epoch ms of the last status change */
  since: number
  /** epoch ms of the last check (or ttl pass) */
  checkedAt?: number
}

export interface ExternalServicesEvents {
  /** registered, deregistered, or health changed */
  change: CustomEvent<ExternalInstance>
}

export function parseRegistration (value: unknown): Registration {
  const result = registrationSchema.safeParse(value)
  if (result.success) return result.data
  throw new InvalidRegistrationError(`invalid registration: ${firstIssue(result.error).message}`)
}

interface Entry {
  instance: ExternalInstance
  timer?: ReturnType<typeof setTimeout>
  controller?: AbortController
}

/**
 * External services registered on this daemon, persisted in the repo so they
 * survive a restart, each with its health check running while the daemon
 * runs. Only healthy instances are announced to the mesh.
 */
export class ExternalServices extends TypedEventEmitter<ExternalServicesEvents> {
  private readonly datastore: Datastore
  private readonly log: Logger
  private readonly entries = new Map<string, Entry>()
  private running = false

  constructor (init: { datastore: Datastore, log: Logger }) {
    super()
    this.datastore = init.datastore
    this.log = init.log
  }

  async start (options: { signal?: AbortSignal } = {}): Promise<void> {
    this.running = true
    for await (const { key, value } of this.datastore.query({ prefix: EXTERNAL_PREFIX }, options)) {
      try {
        this.add(parseRegistration(JSON.parse(new TextDecoder().decode(value))))
      } catch (err) {
        this.log.error('skipping unreadable external service registration %s: %e', key.toString(), err)
      }
    }
  }

  stop (): void {
    this.running = false
    for (const entry of this.entries.values()) this.halt(entry)
  }

  async register (input: unknown, options: { signal?: AbortSignal } = {}): Promise<ExternalInstance> {
    const registration = parseRegistration(input)
    if (!this.entries.has(registration.name) && this.entries.size >= MAX_EXTERNAL_SERVICES) {
      throw new InvalidRegistrationError(`at most ${MAX_EXTERNAL_SERVICES} external services per daemon`)
    }
    await this.datastore.put(keyOf(registration.name), new TextEncoder().encode(JSON.stringify(registration)), options)
    const old = this.entries.get(registration.name)
    if (old != null) this.halt(old)
    return this.add(registration)
  }

  async deregister (name: string, options: { signal?: AbortSignal } = {}): Promise<void> {
    const entry = this.entries.get(name)
    if (entry == null) throw new ServiceNotFoundError(`no external service "${name}" registered on this daemon`)
    await this.datastore.delete(keyOf(name), options)
    this.halt(entry)
    this.entries.delete(name)
    this.safeDispatchEvent('change', { detail: entry.instance })
  }

  /** A ttl check's heartbeat: healthy for another ttl. */
  pass (name: string, note = 'passed'): ExternalInstance {
    const entry = this.entries.get(name)
    if (entry == null) throw new ServiceNotFoundError(`no external service "${name}" registered on this daemon`)
    const check = entry.instance.check
    if (check?.type !== 'ttl') throw new ConflictError(`external service "${name}" has ${check == null ? 'no check' : `a ${check.type} check`}, not a ttl check`)
    clearTimeout(entry.timer)
    this.set(entry, 'passing', note)
    entry.timer = setTimeout(() => { this.set(entry, 'critical', `no pass within the ttl of ${check.ttlMs} ms`) }, check.ttlMs)
    entry.timer.unref()
    return { ...entry.instance }
  }

  list (): ExternalInstance[] {
    return [...this.entries.values()].map(e => ({ ...e.instance })).sort((a, b) => a.name.localeCompare(b.name))
  }

  get (name: string): ExternalInstance | undefined {
    const entry = this.entries.get(name)
    return entry != null ? { ...entry.instance } : undefined
  }

  /** The endpoint of a registered instance whose check passes (hot path: no copy). */
  passingEndpoint (name: string): string | undefined {
    const instance = this.entries.get(name)?.instance
    return instance?.status === 'passing' ? instance.endpoint : undefined
  }

  healthy (): string[] {
    return [...this.entries.values()].filter(e => e.instance.status === 'passing').map(e => e.instance.name).sort()
  }

  private add (registration: Registration): ExternalInstance {
    const now = Date.now()
    const instance: ExternalInstance = {
      name: registration.name,
      endpoint: registration.endpoint,
      ...(registration.check != null ? { check: registration.check } : {}),
      status: registration.check == null ? 'passing' : 'critical',
      output: registration.check == null ? 'no check' : registration.check.type === 'ttl' ? 'waiting for the first pass' : 'not checked yet',
      since: now
    }
    const entry: Entry = { instance }
    this.entries.set(registration.name, entry)
    this.safeDispatchEvent('change', { detail: instance })
    if (this.running) this.schedule(entry, 0)
    return { ...instance }
  }

  private schedule (entry: Entry, delayMs: number): void {
    const check = entry.instance.check
    if (check == null || check.type === 'ttl') return
    entry.timer = setTimeout(() => {
      entry.controller = new AbortController()
      void runCheck(check, entry.instance.endpoint, { signal: entry.controller.signal }).then(result => {
        if (entry.controller?.signal.aborted !== false) return
        entry.instance.checkedAt = Date.now()
        this.set(entry, result.status, result.output)
        this.schedule(entry, check.intervalMs)
      })
    }, delayMs)
    entry.timer.unref()
  }

  private set (entry: Entry, status: CheckStatus, output: string): void {
    const { instance } = entry
    instance.output = output
    if (instance.check?.type === 'ttl') instance.checkedAt = Date.now()
    if (instance.status === status) return
    this.log('external service %s is %s: %s', instance.name, status, output)
    instance.status = status
    instance.since = Date.now()
    this.safeDispatchEvent('change', { detail: { ...instance } })
  }

  private halt (entry: Entry): void {
    clearTimeout(entry.timer)
    entry.controller?.abort()
  }
}

function keyOf (name: string): Key {
  return new Key(`${EXTERNAL_PREFIX}/${name}`)
}
