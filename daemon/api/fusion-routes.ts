import { API_PREFIX } from '../../lib/interface/api.js'
import { InvalidRequestError, NotFoundError } from '../../lib/interface/errors.js'
import type { CalibrationItem, FuseInput, FuseOptions, FusionEngine } from '../../lib/fusion/index.js'
import { readJson } from './http.js'
import type { Routes } from './server.js'

/** What the fusion endpoints need (the fusion engine provides it). */
export type FusionTarget = Pick<FusionEngine, 'tasks' | 'defineTask' | 'registerProcessor' | 'deregisterProcessor' | 'fuse' | 'calibrate' | 'explain' | 'stats'>

/** A fusion's body: its inputs in base64, 4/3 of 16 MiB at most, and room for the rest. */
export const MAX_FUSE_BODY = Math.ceil(16 * 1024 * 1024 * 4 / 3) + 64 * 1024
/** A calibration set (items with their inputs, in base64). */
const MAX_CALIBRATION_BODY = 256 * 1024 * 1024

/** `[{ modality, mediaType, dataBase64 }]` from a JSON body, checked. */
export function inputsFrom (value: unknown): FuseInput[] {
  if (!Array.isArray(value)) throw new InvalidRequestError('"inputs" must be an array of { modality, mediaType, dataBase64 }')
  return value.map((v: any, i) => {
    if (v == null || typeof v !== 'object') throw new InvalidRequestError(`input ${i} must be { modality, mediaType, dataBase64 }`)
    if (typeof v.modality !== 'string' || v.modality === '') throw new InvalidRequestError(`input ${i}: "modality" must be a non-empty string`)
    if (typeof v.mediaType !== 'string' || v.mediaType === '') throw new InvalidRequestError(`input ${i}: "mediaType" must be a non-empty string`)
    if (typeof v.dataBase64 !== 'string') throw new InvalidRequestError(`input ${i}: "dataBase64" must be a string`)
    return { modality: v.modality, mediaType: v.mediaType, data: Buffer.from(v.dataBase64, 'base64') }
  })
}

/** The call options of a fusion body (`deadlineMs`, `rule`, `context`, `useContext`, `hedge`), checked. */
export function fuseOptionsFrom (body: Record<string, unknown>): FuseOptions {
  const o: FuseOptions = {}
  if (body.deadlineMs != null) {
    if (typeof body.deadlineMs !== 'number' || !Number.isInteger(body.deadlineMs) || body.deadlineMs < 1) throw new InvalidRequestError('"deadlineMs" must be a positive integer')
    o.deadlineMs = body.deadlineMs
  }
  if (body.rule != null) {
    if (typeof body.rule !== 'string') throw new InvalidRequestError('"rule" must be a string')
    o.rule = body.rule
  }
  if (body.context != null) {
    if (typeof body.context !== 'string') throw new InvalidRequestError('"context" must be a string')
    o.context = body.context
  }
  for (const flag of ['useContext', 'hedge', 'detail'] as const) {
    if (body[flag] == null) continue
    if (typeof body[flag] !== 'boolean') throw new InvalidRequestError(`"${flag}" must be a boolean`)
    o[flag] = body[flag]
  }
  return o
}

function parts (rest: string): string[] {
  return rest.split('/').map(decodeURIComponent)
}

export function fusionRoutes (target: FusionTarget): Routes {
  const p = API_PREFIX
  return {
    [`GET ${p}/fuse/tasks`]: async () => ({ body: await target.tasks() }),
    [`GET ${p}/fuse/stats`]: async () => ({ body: target.stats() }),
    [`GET ${p}/fuse/decisions/*`]: async (_req, _url, _res, id) => {
      const record = await target.explain(id)
      if (record == null) throw new NotFoundError(`no fusion "${id}" here: it was made on another daemon, or its log segment has been reused`)
      return { body: record }
    },
    // PUT /fuse/tasks/<task>: define; PUT /fuse/tasks/<task>/processors/<name>: register
    [`PUT ${p}/fuse/tasks/*`]: async (req, _url, _res, rest) => {
      const [task, sub, name, ...more] = parts(rest)
      const body = await readJson(req, 1024 * 1024)
      if (sub == null) return { body: await target.defineTask({ ...body, name: task }) }
      if (sub === 'processors' && name != null && more.length === 0) return { body: await target.registerProcessor({ ...body, task, name }) }
      throw new NotFoundError('PUT /fuse/tasks/<task> defines a task; PUT /fuse/tasks/<task>/processors/<name> registers a processor')
    },
    [`DELETE ${p}/fuse/tasks/*`]: async (_req, _url, _res, rest) => {
      const [task, sub, name, ...more] = parts(rest)
      if (sub !== 'processors' || name == null || more.length > 0) throw new NotFoundError('DELETE /fuse/tasks/<task>/processors/<name> removes a processor registered here')
      await target.deregisterProcessor(task!, name)
      return { body: { task, processor: name, removed: true } }
    },
    // POST /fuse/tasks/<task>: fuse one input; POST /fuse/tasks/<task>/calibrate: fit on a labelled set
    [`POST ${p}/fuse/tasks/*`]: async (req, _url, _res, rest) => {
      const [task, sub, ...more] = parts(rest)
      if (sub == null) {
        const body = await readJson(req, MAX_FUSE_BODY)
        return { body: await target.fuse(task!, inputsFrom(body.inputs), fuseOptionsFrom(body)) }
      }
      if (sub === 'calibrate' && more.length === 0) {
        const body = await readJson(req, MAX_CALIBRATION_BODY)
        if (!Array.isArray(body.items)) throw new InvalidRequestError('body must be { "items": [{ "label", "inputs": [{ modality, mediaType, dataBase64 }], "previous"?, "context"? }] }')
        const items: CalibrationItem[] = body.items.map((it: any, i: number) => {
          if (it == null || typeof it.label !== 'string') throw new InvalidRequestError(`item ${i}: "label" must be a string`)
          return { label: it.label, inputs: inputsFrom(it.inputs), ...(typeof it.previous === 'string' ? { previous: it.previous } : {}), ...(typeof it.context === 'string' ? { context: it.context } : {}) }
        })
        return { body: await target.calibrate(task!, items) }
      }
      throw new NotFoundError('POST /fuse/tasks/<task> fuses an input; POST /fuse/tasks/<task>/calibrate fits the task on a labelled set')
    }
  }
}
