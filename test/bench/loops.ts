import { request, type Agent } from 'node:http'
import { constants as http2Constants, type ClientHttp2Session } from 'node:http2'
import { summarise, type LatencyStats } from './stats.js'

/** One call of a load loop: resolves when answered, rejects on a wrong answer. */
export type Call = () => Promise<void>

/** Closed loop: `concurrency` workers call back to back; after `warmupMs`, `runMs` of measurement. */
export async function closedLoop (call: Call, opts: { concurrency: number, warmupMs: number, runMs: number }): Promise<LatencyStats> {
  const samples: number[] = []
  const errors: string[] = []
  let measuring = false
  let stop = false
  const worker = async (): Promise<void> => {
    while (!stop) {
      const t0 = performance.now()
      try {
        await call()
        if (measuring) samples.push((performance.now() - t0) * 1000)
      } catch (err: any) {
        // counted (warm-up included), not thrown: a worker's rejection would otherwise go unhandled
        // until the loop ends and take the whole benchmark down; a side that fails says so in its figures
        errors.push(String(err?.message ?? err))
      }
    }
  }
  const workers = Array.from({ length: opts.concurrency }, async () => await worker())
  await new Promise(resolve => setTimeout(resolve, opts.warmupMs))
  measuring = true
  const started = performance.now()
  await new Promise(resolve => setTimeout(resolve, opts.runMs))
  measuring = false
  const wall = performance.now() - started
  stop = true
  await Promise.all(workers)
  const stats = summarise(samples, wall)
  return errors.length > 0 ? { ...stats, errors: errors.length, firstError: errors[0] } as LatencyStats : stats
}

/** POST `payload` to `url` over `agent`; the answer must be 200 and as long as the payload (an echo). */
export function httpPoster (url: string, agent: Agent, payload: Uint8Array): Call {
  const { hostname, port, pathname } = new URL(url)
  return async () => await new Promise<void>((resolve, reject) => {
    const req = request({ hostname, port, path: pathname, method: 'POST', agent, headers: { 'content-length': payload.byteLength } }, (res) => {
      let n = 0
      res.on('data', (c: Buffer) => { n += c.length })
      res.on('end', () => { res.statusCode === 200 && n === payload.byteLength ? resolve() : reject(new Error(`HTTP ${res.statusCode} (${n} bytes)`)) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(payload)
  })
}

/** POST the payload as one stream of an HTTP/2 session (all calls multiplexed on its one connection). */
export function http2Poster (session: ClientHttp2Session, payload: Uint8Array): Call {
  const { HTTP2_HEADER_METHOD, HTTP2_HEADER_PATH, HTTP2_HEADER_STATUS } = http2Constants
  return async () => new Promise<void>((resolve, reject) => {
    const req = session.request({ [HTTP2_HEADER_METHOD]: 'POST', [HTTP2_HEADER_PATH]: '/', 'content-length': payload.byteLength })
    let status = 0
    let n = 0
    req.on('response', (headers) => { status = Number(headers[HTTP2_HEADER_STATUS]) })
    req.on('data', (c: Buffer) => { n += c.length })
    req.on('end', () => { status === 200 && n === payload.byteLength ? resolve() : reject(new Error(`HTTP/2 ${status} (${n} bytes)`)) })
    req.on('error', reject)
    req.end(payload)
  })
}
