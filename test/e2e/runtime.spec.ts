import { Agent, request } from 'node:http'
import { copyFile, mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { expect } from 'chai'
import type { PublishedModuleView, RuntimeServiceView } from '../../lib/interface/api.js'
import { killAll, startDaemonMesh, type DaemonProcess, json } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'

async function post (url: string, body: string, headers: Record<string, string>, agent: Agent): Promise<{ status: number, body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { method: 'POST', headers, agent }, (res) => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => { resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString() }) })
      res.on('error', reject)
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('module services across real daemon processes', function () {
  this.timeout(240_000)
  let dir: Awaited<ReturnType<typeof tmpDir>>
  let daemons: DaemonProcess[] = []
  after(async () => {
    await killAll(daemons)
    await dir?.cleanup()
  })

  it('a 2-replica module service on 4 daemons: published on one, run by its owners, every call answered while an owner is SIGKILLed, a new owner runs it, and service update swaps the version on both owners', async () => {
    dir = await tmpDir()
    const mesh = await startDaemonMesh(dir.path, 4, ['--gateway', '127.0.0.1:0'])
    daemons = mesh.daemons
    const [d0] = daemons as [DaemonProcess]
    const gateway = /gateway: +(http:\/\/\S+)/.exec(d0.stdout)![1]!
    const echo = fileURLToPath(new URL('../../../examples/modules/echo', import.meta.url))
    const published = await json<PublishedModuleView>(d0, 'module', 'publish', echo)
    const spec = join(dir.path, 'mecho.json')
    await writeFile(spec, JSON.stringify({ name: 'mecho', replicas: 2, module: 'echo@^1' }))
    await waitFor(async () => (await daemons[3]!.cli('module', 'resolve', 'echo@^1')).code === 0, { what: 'the catalog to reach d3' })
    await json(daemons[3]!, 'service', 'deploy', spec)

    const runners = async (among: DaemonProcess[]): Promise<DaemonProcess[]> => {
      const out: DaemonProcess[] = []
      for (const d of among) {
        const list = await json<RuntimeServiceView[]>(d, 'runtime').catch(() => [])
        if (list.some(s => s.service === 'mecho' && s.state === 'running' && s.cid === published.cid)) out.push(d)
      }
      return out
    }
    const owners = await waitFor(async () => { const r = await runners(daemons); return r.length === 2 ? r : undefined }, { timeoutMs: 60_000, what: 'two daemons to run mecho' })
    const text = await owners[0]!.cli('runtime')
    expect(text.stdout).to.match(/mecho +echo@1\.0\.0 +running +1/)

    // load through d0's gateway; kill an owner that is not d0 (it serves the gateway) part way
    const victim = owners.find(d => d !== d0)!
    const agent = new Agent({ keepAlive: true, maxSockets: 8 })
    const answers = new Map<string, number>()
    const why: string[] = []
    let killed = false
    const worker = async (w: number): Promise<void> => {
      for (let i = 0; i < 60; i++) {
        const body = `${w}:${i}`
        const res = await post(`${gateway}/svc/mecho/echo`, body, { 'x-noodle-idempotent': 'true', 'x-noodle-timeout-ms': '15000' }, agent)
        if (res.status !== 200 || res.body !== body) why.push(`${res.status} ${res.body.slice(0, 300)}`)
        answers.set(body, (answers.get(body) ?? 0) + 1)
        if (!killed && answers.size >= 100) {
          killed = true
          void victim.kill('SIGKILL')
        }
      }
    }
    await Promise.all(Array.from({ length: 8 }, async (_, w) => worker(w)))
    agent.destroy()
    expect(killed).to.equal(true)
    expect(why, why.join('\n')).to.deep.equal([])
    expect(answers.size).to.equal(480)

    // placement moves the replica: a survivor that did not run it before fetches and runs it
    const survivors = daemons.filter(d => d !== victim)
    const after = await waitFor(async () => { const r = await runners(survivors); return r.length === 2 ? r : undefined }, { timeoutMs: 90_000, what: 'a new owner to run mecho' })
    expect(after.filter(d => !owners.includes(d))).to.have.length(1)
    const res = await post(`${gateway}/svc/mecho/echo`, 'after', {}, new Agent())
    expect(res).to.deep.equal({ status: 200, body: 'after' })

    // a new version: noodled service update, then each owner's history
    const v11 = join(dir.path, 'echo-1.1.0')
    await mkdir(join(v11, 'build'), { recursive: true })
    await copyFile(join(echo, 'build', 'echo.wasm'), join(v11, 'build', 'echo.wasm'))
    await writeFile(join(v11, 'noodle.json'), JSON.stringify({ ...JSON.parse(await readFile(join(echo, 'noodle.json'), 'utf8')), version: '1.1.0' }))
    const v11cid = (await json<PublishedModuleView>(d0, 'module', 'publish', v11)).cid
    await waitFor(async () => (await survivors[1]!.cli('module', 'resolve', 'echo@^1.1.0')).code === 0, { what: 'the catalog to hold echo@1.1.0' })
    const updated = await survivors[1]!.cli('service', 'update', 'mecho', '--module', 'echo@^1.1.0')
    expect(updated.code, updated.stderr).to.equal(0)
    const swapped = await waitFor(async () => {
      const out: string[] = []
      for (const d of after) {
        const h = await d.cli('service', 'history', 'mecho')
        if (h.code !== 0 || !new RegExp(`echo@1\\.1\\.0 +running +${v11cid}`).test(h.stdout)) return undefined
        out.push(h.stdout)
      }
      return out
    }, { timeoutMs: 60_000, what: 'both owners to run echo@1.1.0' })
    expect(swapped[0]).to.match(/echo@1\.0\.0 +replaced/)
    expect(await post(`${gateway}/svc/mecho/echo`, 'v1.1', {}, new Agent())).to.deep.equal({ status: 200, body: 'v1.1' })
    const nowhere = await d0.cli('service', 'history', 'nope')
    expect(nowhere.code).to.equal(1)
    expect(nowhere.stderr).to.include('"nope" runs on no owner')
  })
})
