import { request } from 'node:http'
import { join } from 'node:path'
import { expect } from 'chai'
import fc from 'fast-check'
import { pino } from 'pino'
import { Daemon } from '../../daemon/index.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { hostileJson, json, mutated, mutatedJson, runs } from './harness.js'

async function raw (socketPath: string, method: string, path: string, body?: Uint8Array): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath, method, path, headers: body != null ? { 'content-type': 'application/json' } : {} }, (res) => {
      res.resume().on('end', () => { resolve(res.statusCode ?? 0) })
    })
    req.setTimeout(20_000, () => { req.destroy(new Error(`${method} ${path} hung`)) })
    req.on('error', reject)
    req.end(body)
  })
}

/**
 * Hostile control API bodies: every POST/PUT/DELETE route (but shutdown)
 * gets random and mutated bodies and paths. The daemon answers each with a
 * named 4xx (or a 5xx it means: a mesh call that found nobody), never a 500
 * from a path nobody thought of, and keeps answering.
 */
describe('fuzz: control API bodies', function () {
  this.timeout(300_000)
  let dir: Awaited<ReturnType<typeof tmpDir>>
  let daemon: Daemon | undefined
  after(async () => {
    await daemon?.stop()
    await dir?.cleanup()
  })

  it('answers hostile bodies with named errors, never 500, and stays up', async () => {
    dir = await tmpDir()
    daemon = await Daemon.start({ repo: join(dir.path, 'r'), profile: 'local', listen: ['/ip4/127.0.0.1/tcp/0'], logger: pino({ level: 'silent' }) })
    const sock = daemon.paths.apiSocket
    const routes: Array<[string, string]> = [
      ['POST', '/api/v1/connect'], ['POST', '/api/v1/services'], ['POST', '/api/v1/services?dryRun=1'], ['POST', '/api/v1/services/web/scale'],
      ['DELETE', '/api/v1/services/web'], ['POST', '/api/v1/external'], ['POST', '/api/v1/external/x/pass'], ['POST', '/api/v1/call'],
      ['POST', '/api/v1/modules'], ['PUT', '/api/v1/labels/zone'], ['POST', '/api/v1/auth/delegate'], ['POST', '/api/v1/auth/tokens'],
      ['POST', '/api/v1/auth/revoke'], ['GET', '/api/v1/audit?limit=x'], ['GET', '/api/v1/members/%ff'], ['POST', '/api/v1/modules/%00/pin']
    ]
    const samples = [
      { addr: '/ip4/127.0.0.1/tcp/1' }, { name: 'web', replicas: 2, module: 'echo@^1' }, { replicas: 3 }, { name: 'x', endpoint: 'http://127.0.0.1:1' },
      { service: 'web', fn: 'echo', input: 'x', timeoutMs: 100 }, { manifest: { name: 'a', version: '1.0.0' }, wasm: 'AGFzbQ==' }, { value: 'a' },
      { to: 'did:key:z6Mk', can: 'service/deploy', with: 'svc:*' }, { token: 'x' }, { id: 'bafy' }
    ]
    const bodies = fc.sample(fc.oneof(mutatedJson(samples).map(json), mutated(samples.map(json)), hostileJson.map(json), fc.uint8Array({ maxLength: 256 })), { numRuns: runs(150) })
    const statuses = new Map<number, number>()
    for (const [i, body] of bodies.entries()) {
      const [method, path] = routes[i % routes.length]!
      const status = await raw(sock, method, path, method === 'GET' ? undefined : body)
      statuses.set(status, (statuses.get(status) ?? 0) + 1)
      expect(status, `${method} ${path} with ${Buffer.from(body).toString('utf8').slice(0, 200)}`).to.not.equal(500)
    }
    // and paths: random bytes where names go
    for (const name of fc.sample(fc.string({ maxLength: 64 }), Math.ceil(runs(150) / 15))) {
      // a name the catalog lacks is looked up on the DHT, for 3 s at most (see lib/signals.ts)
      const status = await raw(sock, 'GET', `/api/v1/services/${encodeURIComponent(name)}`)
      expect(status).to.be.oneOf([200, 400, 404])
    }
    expect(await raw(sock, 'GET', '/api/v1/health')).to.equal(200)
    expect([...statuses.keys()].every(s => s >= 200 && s < 600)).to.equal(true)
  })
})
