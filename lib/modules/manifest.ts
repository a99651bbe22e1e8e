import semver from 'semver'
import { z } from 'zod'
import { InvalidManifestError } from '../interface/errors.js'
import { SERVICE_NAME } from '../placement/constants.js'
import { firstIssue } from '../validation.js'
import { MAX_MEMORY_PAGES, MAX_TIMEOUT_MS, MODULE_NAME } from './constants.js'

const moduleName = z.string().regex(MODULE_NAME, { error: 'lower-case letters, digits and . _ -, starting with a letter or digit, at most 64 characters' })

/** An exported function's name: what callers put after the service name. */
const functionName = z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, { error: 'a function name: letters, digits and _, not starting with a digit, at most 128 characters' })

/** A host name an HTTP request may go to: `api.example.com`, or `*.example.com` for its subdomains. */
const hostPattern = z.string().regex(/^(\*\.)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*(:\d{1,5})?$/, { error: 'a host name such as "api.example.com" or "*.example.com", optionally with a port' })

const unique = <T>(items: T[]): boolean => new Set(items).size === items.length

/**
 * `noodle.json`: what a module is and what it may ask for. Unknown keys are
 * refused, so a misspelt capability is an error rather than a silently
 * missing grant. The capabilities are requests; what a module gets is this
 * ∩ the node's policy ∩ the deploy's (the runtime issue).
 */
export const manifestSchema = z.strictObject({
  name: moduleName,
  version: z.string().max(64).refine(v => semver.valid(v) === v, { error: 'a semantic version such as "1.2.3" (no leading "v", no spaces)' }),
  description: z.string().max(1024).optional(),
  /** the WebAssembly file, relative to the manifest's directory */
  entry: z.string().max(256).regex(/^(?!\/)(?!.*(^|\/)\.\.(\/|$))[^\0\\]+\.wasm$/, { error: 'a relative path to a .wasm file inside the module directory' }),
  /** the functions callers may invoke */
  exports: z.array(functionName).min(1).max(256).refine(unique, { error: 'names a function twice' }),
  /** other modules this one imports functions from: name -> semver range */
  dependencies: z.record(z.string(), z.string().max(128).refine(r => semver.validRange(r) != null, { error: 'a semver range such as "^1.2.0", "~1.2", "1.2.3" or ">=1 <3"' }))
    .superRefine((deps, ctx) => {
      // zod's own message for a bad record key does not say what a key must be
      for (const key of Object.keys(deps)) {
        if (!MODULE_NAME.test(key)) ctx.addIssue({ code: 'custom', path: [key], message: 'a module name: lower-case letters, digits and . _ -, starting with a letter or digit' })
      }
      if (Object.keys(deps).length > 64) ctx.addIssue({ code: 'custom', message: 'at most 64 dependencies' })
    })
    .default({}),
  capabilities: z.strictObject({
    /** write to the daemon's log */
    log: z.boolean().default(false),
    /** get/put/delete in the service's own key-value namespace */
    kv: z.boolean().default(false),
    /** call these other mesh services */
    call: z.array(z.string().regex(SERVICE_NAME, { error: 'a service name' })).max(64).refine(unique, { error: 'names a service twice' }).default([]),
    /** make HTTP requests to these hosts */
    http: z.array(hostPattern).max(64).refine(unique, { error: 'names a host twice' }).default([]),
    /** read files under these host paths */
    paths: z.array(z.string().min(1).max(1024).regex(/^\/[^\0]*$/, { error: 'an absolute path' })).max(16).refine(unique, { error: 'names a path twice' }).default([])
  }).default({ log: false, kv: false, call: [], http: [], paths: [] }),
  resources: z.strictObject({
    /** WebAssembly memory limit in 64 KiB pages (256 = 16 MiB) */
    memoryPages: z.number().int().min(1).max(MAX_MEMORY_PAGES).default(256),
    /** the longest one call may run */
    timeoutMs: z.number().int().min(1).max(MAX_TIMEOUT_MS).default(1_000)
  }).default({ memoryPages: 256, timeoutMs: 1_000 }),
  /** SPDX expression, e.g. "MIT" or "Apache-2.0 OR MIT" */
  license: z.string().max(128).optional()
})

export type Manifest = z.output<typeof manifestSchema>
export type ManifestInput = z.input<typeof manifestSchema>

/** Validate a parsed manifest and fill in defaults; the error names the field at fault. */
export function parseManifest (value: unknown): Manifest {
  const result = manifestSchema.safeParse(value)
  if (result.success) return result.data
  const { key, message } = firstIssue(result.error)
  throw new InvalidManifestError(`invalid module manifest: ${message}`, key)
}

/** `name@version`, the key of a published module. */
export function moduleId (m: { name: string, version: string }): string {
  return `${m.name}@${m.version}`
}
