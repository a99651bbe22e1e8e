import { createServer, Agent, request, type Server } from 'node:http'
import { writeFile } from 'node:fs/promises'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { expect } from 'chai'
import type { CallResponse, ResolveView } from '../../lib/interface/api.js'
import { DaemonProcess, killAll, startDaemonMesh, json } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'

interface HttpResult { status: number, body: Buffer, headers: Record<string, string | string[] | undefined> }

async function post (url: string, body: Buffer | string, headers: Record<string, string> = {}, agent?: Agent, method = 'POST'): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method, headers, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** A POST that declares `length` bytes and sends none: answered on the headers alone, or not at all. */
async function headersOnly (url: string, length: number): Promise<HttpResult> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers: { 'content-length': String(length) } }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks), headers: res.headers })
        req.destroy()
      })
    })
    req.on('error', (err) => { reject(err) })
    req.flushHeaders()
  })
}

describe('mesh rpc and the gateway across real daemon processes', function () {
  this.timeout(180_000)
  let dir: Awaited<ReturnType<typeof tmpDir>>
  let daemons: DaemonProcess[] = []
  let ids: string[] = []
  let gateway: string
  let slow: Server

  before(async () => {
    dir = await tmpDir()
    const mesh = await startDaemonMesh(dir.path, 3, ['--gateway', '127.0.0.1:0'])
    daemons = mesh.daemons
    ids = mesh.ids
    gateway = /gateway: +(http:\/\/\S+)/.exec(daemons[0]!.stdout)![1]!
    // an external service that never answers
    slow = createServer(() => {})
    await new Promise<void>(resolve => slow.listen(0, '127.0.0.1', resolve))
    for (const d of [daemons[1]!, daemons[2]!]) {
      await json(d, 'service', 'register', '--name', 'echo', '--endpoint', 'builtin:echo')
    }
    await json(daemons[1]!, 'service', 'register', '--name', 'slow', '--endpoint', `http://127.0.0.1:${(slow.address() as AddressInfo).port}`)
    await waitFor(async () => {
      const echo = await json<ResolveView>(daemons[0]!, 'service', 'resolve', 'echo').catch(() => undefined)
      const s = await json<ResolveView>(daemons[0]!, 'service', 'resolve', 'slow').catch(() => undefined)
      return echo?.instances.filter(i => i.healthy).length === 2 && s?.instances.length === 1
    }, { timeoutMs: 60_000, what: 'd0 to resolve echo on d1 and d2, and slow on d1' })
  })

  after(async () => {
    await killAll(daemons)
    slow?.closeAllConnections()
    slow?.close()
    await dir.cleanup()
  })

  it('noodled call: text, a file and standard input round-trip through another daemon', async () => {
    const res = await json<CallResponse>(daemons[0]!, 'call', 'echo', 'any', 'hello mesh')
    expect(res.output).to.equal('hello mesh')
    expect([ids[1], ids[2]]).to.include(res.instance)
    const plain = await daemons[0]!.cli('call', 'echo', 'any', 'plain text')
    expect(plain.code).to.equal(0)
    expect(plain.stdout.trim()).to.equal('plain text')
    const missing = await daemons[0]!.cli('call', 'echo', 'any', '@/nonexistent/file')
    expect(missing.code).to.equal(1)
    expect(missing.stderr).to.match(/no such file/)
  })

  it('the gateway answers 200 with the output, and 404, 405, 413, 503, 504 with JSON errors', async () => {
    const ok = await post(`${gateway}/svc/echo/any`, 'through the gateway')
    expect(ok.status).to.equal(200)
    expect(ok.body.toString()).to.equal('through the gateway')
    expect([ids[1], ids[2]]).to.include(ok.headers['x-noodle-instance'])

    const errorOf = (r: HttpResult): string => (JSON.parse(r.body.toString()) as { error: { name: string } }).error.name
    const unknown = await post(`${gateway}/svc/nobody-has-this/f`, 'x')
    expect([unknown.status, errorOf(unknown)]).to.deep.equal([404, 'ServiceNotFoundError'])
    const get = await post(`${gateway}/svc/echo/any`, '', {}, undefined, 'GET')
    expect(get.status).to.equal(405)
    const path = await post(`${gateway}/elsewhere`, 'x')
    expect(path.status).to.equal(404)
    // refused on the declared length, before a byte of the body is read (the client sends none)
    const big = await headersOnly(`${gateway}/svc/echo/any`, 4 * 1024 * 1024 + 1)
    expect([big.status, errorOf(big)]).to.deep.equal([413, 'PayloadTooLargeError'])
    const late = await post(`${gateway}/svc/slow/any`, 'x', { 'x-noodle-timeout-ms': '300' })
    expect([late.status, errorOf(late)]).to.deep.equal([504, 'DeadlineExceededError'])
    const badTimeout = await post(`${gateway}/svc/echo/any`, 'x', { 'x-noodle-timeout-ms': 'soon' })
    expect(badTimeout.status).to.equal(400)

    // placed on a member, which has nothing to run it with yet (it runs no runtime for it): 503
    const spec = join(dir.path, 'placed.json')
    await writeFile(spec, JSON.stringify({ name: 'placed', replicas: 1 }))
    await json(daemons[1]!, 'service', 'deploy', spec)
    await waitFor(async () => (await json<ResolveView>(daemons[0]!, 'service', 'resolve', 'placed').catch(() => undefined))?.declared === true,
      { timeoutMs: 30_000, what: 'd0 to know the placed service' })
    const none = await post(`${gateway}/svc/placed/f`, 'x')
    expect(none.status).to.equal(503)
    expect(['NoHandlerError', 'NoInstanceError']).to.include(errorOf(none))
  })

  it('a daemon SIGKILLed during a stream of idempotent calls costs retries, not failures: every call answered once', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 8 })
    const answers = new Map<string, number>()
    let failures = 0
    const why: string[] = []
    let killed = false
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < 100; i++) {
        const body = `${w}:${i}`
        const res = await post(`${gateway}/svc/echo/any`, body, { 'x-noodle-idempotent': 'true', 'x-noodle-timeout-ms': '10000' }, agent)
        if (res.status !== 200 || res.body.toString() !== body) {
          failures++
          why.push(`${res.status} ${res.body.toString().slice(0, 300)}`)
        }
        answers.set(body, (answers.get(body) ?? 0) + 1)
        if (!killed && answers.size >= 150) {
          killed = true
          void daemons[2]!.kill('SIGKILL')
        }
      }
    }
    await Promise.all(Array.from({ length: 8 }, async (_, w) => worker(w)))
    agent.destroy()
    expect(killed).to.equal(true)
    expect(failures, why.join('\n')).to.equal(0)
    expect(answers.size).to.equal(800)
    expect([...answers.values()].every(n => n === 1)).to.equal(true)
  })
})
