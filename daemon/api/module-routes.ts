import type { ServerResponse } from 'node:http'
import type { ModuleFetchEvent, ModuleFetchProgressView, ModuleFetchView, ModuleGcView, ModuleInfoView, ModuleListView, ModuleResolutionView, PublishedModuleView } from '../../lib/interface/api.js'
import { API_PREFIX } from '../../lib/interface/api.js'
import { InvalidRequestError, NotFoundError } from '../../lib/interface/errors.js'
import { MAX_MANIFEST_BYTES, MAX_WASM_BYTES } from '../../lib/modules/constants.js'
import { readJson } from './http.js'
import type { Routes } from './server.js'
import { timeoutSignal } from '../../lib/signals.js'

/** What the module endpoints need (the Modules service provides it). */
export interface ModulesTarget {
  publish(manifest: unknown, wasm: Uint8Array, options: { signal?: AbortSignal }): Promise<PublishedModuleView>
  list(options: { signal?: AbortSignal }): Promise<ModuleListView[]>
  resolve(ref: string, options: { includePrerelease?: boolean }): ModuleResolutionView
  info(ref: string, options: { signal?: AbortSignal }): Promise<ModuleInfoView>
  pin(ref: string, options: { signal?: AbortSignal }): Promise<ModuleInfoView>
  unpin(ref: string, options: { signal?: AbortSignal }): Promise<ModuleInfoView>
  gc(options: { signal?: AbortSignal }): Promise<ModuleGcView>
  fetch(ref: string, options: { signal?: AbortSignal, includePrerelease?: boolean, onProgress?: (p: ModuleFetchProgressView) => void }): Promise<ModuleFetchView>
}

const REQUEST_TIMEOUT_MS = 60_000
/** A fetch moves up to 64 MiB per module from peers that may be slow or many hops away. */
const FETCH_TIMEOUT_MS = 10 * 60_000
/** `{ manifest, wasm }` with the wasm in base64: 4/3 of the largest binary, the manifest, and room */
const MAX_PUBLISH_BODY = Math.ceil(MAX_WASM_BYTES * 4 / 3) + MAX_MANIFEST_BYTES + 64 * 1024

/**
 * `module fetch` answers as NDJSON (ModuleFetchEvent): progress lines while
 * blocks arrive, then one `done` or `error` line. The status is sent before
 * the outcome is known, so errors travel in the stream. A client that goes
 * away cancels the fetch.
 */
async function streamFetch (target: ModulesTarget, ref: string, includePrerelease: boolean, res: ServerResponse): Promise<void> {
  const controller = new AbortController()
  res.on('close', () => { controller.abort(new Error('client went away')) })
  res.writeHead(200, { 'content-type': 'application/x-ndjson; charset=utf-8', 'cache-control': 'no-store' })
  const send = (event: ModuleFetchEvent): void => { if (!res.writableEnded) res.write(JSON.stringify(event) + '\n') }
  try {
    const result = await target.fetch(ref, {
      signal: AbortSignal.any([controller.signal, timeoutSignal(FETCH_TIMEOUT_MS)]),
      includePrerelease,
      onProgress: (progress) => { send({ type: 'progress', progress }) }
    })
    send({ type: 'done', result })
  } catch (err: any) {
    send({ type: 'error', error: { name: String(err?.name ?? 'Error'), message: String(err?.message ?? err) } })
  }
  res.end()
}

export function moduleRoutes (target: ModulesTarget): Routes {
  const p = API_PREFIX
  const signal = (): AbortSignal => timeoutSignal(REQUEST_TIMEOUT_MS)
  return {
    [`POST ${p}/modules`]: async (req) => {
      const { manifest, wasm } = await readJson(req, MAX_PUBLISH_BODY)
      if (manifest == null || typeof manifest !== 'object') throw new InvalidRequestError('body must be { "manifest": {...}, "wasm": "<base64>" }')
      if (typeof wasm !== 'string' || wasm === '') throw new InvalidRequestError('"wasm" must be the module binary in base64')
      return { status: 201, body: await target.publish(manifest, new Uint8Array(Buffer.from(wasm, 'base64')), { signal: signal() }) }
    },
    [`GET ${p}/modules`]: async () => ({ body: await target.list({ signal: signal() }) }),
    [`GET ${p}/modules/*`]: async (_req, _url, _res, ref) => ({ body: await target.info(ref, { signal: signal() }) }),
    [`POST ${p}/modules/gc`]: async () => ({ body: await target.gc({ signal: signal() }) }),
    // GET /module-resolve/NAME@RANGE[?prerelease=1] (a range may hold characters a path segment should not)
    [`GET ${p}/module-resolve/*`]: async (_req, url, _res, ref) => ({ body: target.resolve(ref, { includePrerelease: ['1', 'true'].includes(url.searchParams.get('prerelease') ?? '') }) }),
    // POST /modules/REF/pin, /unpin, /fetch[?prerelease=1] (the router matches a trailing wildcard only)
    [`POST ${p}/modules/*`]: async (_req, url, res, rest) => {
      const at = rest.lastIndexOf('/')
      const ref = rest.slice(0, at)
      const action = rest.slice(at + 1)
      if (at < 1 || (action !== 'pin' && action !== 'unpin' && action !== 'fetch')) throw new NotFoundError(`no such endpoint: POST ${p}/modules/${rest}`)
      if (action === 'fetch') {
        await streamFetch(target, ref, ['1', 'true'].includes(url.searchParams.get('prerelease') ?? ''), res)
        return undefined
      }
      return { body: action === 'pin' ? await target.pin(ref, { signal: signal() }) : await target.unpin(ref, { signal: signal() }) }
    }
  }
}
