import { existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { createServer, request, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { expect } from 'chai'
import { chromium, type Browser, type Page } from 'playwright-core'
import { moduleDir } from '../modules/fixtures.js'
import { DaemonProcess, killAll, startDaemonMesh } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'

/** A real Chromium: Debian's (`.ci/run` installs it), or the one CHROMIUM_PATH names. */
const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(p => existsSync(p))

/** What a killed member may take to show as failed here: detection (about a second on the local profile) with room for a busy host. */
const DETECTION_MS = 30_000

// Functions given to page.evaluate/waitForFunction run in the page, serialised: they reach the page's
// globals through globalThis (this file is compiled without the DOM's types), and are functions rather
// than strings because the console's content security policy forbids eval in the page.
describe('web console in a real browser (three daemons)', function () {
  this.timeout(180_000)
  let dir: Awaited<ReturnType<typeof tmpDir>>
  let daemons: DaemonProcess[] = []
  let ids: string[] = []
  let browser: Browser | undefined
  let ui: string
  const servers: Server[] = []

  before(async function () {
    if (CHROMIUM == null) {
      // named, not silently passed: `npm test` on a machine without it says what is missing
      console.log('    (no Chromium: apt-get install chromium, or set CHROMIUM_PATH; .ci/run installs it)')
      this.skip()
    }
    dir = await tmpDir()
    ;({ daemons, ids } = await startDaemonMesh(dir.path, 3, ['--ui', '127.0.0.1:0']))
    ui = /ui: +(http:\/\/\S+)/.exec(daemons[0]!.stdout)![1]!
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  })

  after(async () => {
    await browser?.close()
    for (const s of servers) { s.closeAllConnections(); s.close() }
    await killAll(daemons)
    await dir?.cleanup()
  })

  async function open (hash: string): Promise<Page> {
    const page = await browser!.newPage()
    const problems: string[] = []
    page.on('pageerror', (err) => { problems.push(err.message) })
    page.on('console', (msg) => { if (msg.type() === 'error') problems.push(msg.text()) })
    await page.goto(`${ui}/${hash}`)
    ;(page as Page & { problems: string[] }).problems = problems
    return page
  }

  it('shows all three members live, and a killed one turns failed within the detection time', async () => {
    const page = await open('#/members')
    await page.waitForFunction(() => (globalThis as any).document.querySelectorAll('tr[data-status="alive"]').length === 3)
    const rows = await page.$$eval('tr[data-peer]', trs => trs.map(tr => tr.getAttribute('data-peer')))
    expect(rows.sort()).to.deep.equal([...ids].sort())
    // this daemon is marked, the others not
    expect(await page.$eval(`tr[data-peer="${ids[0]}"] td[data-col="peer"]`, td => td.textContent)).to.include('this')

    // sorted by clicking a column, filtered by status
    await page.click('th[data-sort="peer"]')
    const desc = await page.$$eval('tr[data-peer]', trs => trs.map(tr => tr.getAttribute('data-peer')!))
    expect(desc).to.deep.equal([...ids].sort().reverse())

    const killed = ids[2]!
    await daemons[2]!.kill('SIGKILL')
    const t0 = Date.now()
    // the page is not reloaded: the member event stream brings it
    await page.waitForSelector(`tr[data-peer="${killed}"][data-status="failed"]`, { timeout: DETECTION_MS })
    const seenAfter = Date.now() - t0
    expect(seenAfter).to.be.below(DETECTION_MS)
    await page.selectOption('select[name="status"]', 'failed')
    await page.waitForFunction((id) => [...(globalThis as any).document.querySelectorAll('tr[data-peer]')].map((tr: any) => tr.getAttribute('data-peer')).join() === id, killed)

    // the overview counts it and lists the event
    await page.goto(`${ui}/#/`)
    await page.waitForSelector('[data-status="failed"]')
    expect(await page.textContent('[data-test="mesh-size"]')).to.include('3')
    expect(await page.textContent('li[data-status="failed"]')).to.equal('1 failed')
    expect(await page.textContent('table.events')).to.include('failed')
    expect((page as Page & { problems: string[] }).problems).to.deep.equal([])
    await page.close()
  })

  it('shows a deployed service with its owners and placement, and answers a SPARQL query with rows', async () => {
    // two members alive now (the first test killed one): both own the service, whichever they are
    const spec = join(dir.path, 'web.json')
    await writeFile(spec, JSON.stringify({ name: 'web', replicas: 2 }))
    const deployed = await daemons[1]!.cli('service', 'deploy', spec)
    expect(deployed.code, deployed.stderr).to.equal(0)
    const page = await open('#/services')
    await page.waitForSelector('tr[data-service="web"][data-owners="2"]', { timeout: 30_000 })
    const owners = await page.$$eval('tr[data-service="web"] .tag', tags => tags.map(t => t.getAttribute('title')))
    // what placement says (the CLI asks the same daemon), and only alive members
    const status = JSON.parse((await daemons[0]!.cli('service', 'status', 'web', '--json')).stdout) as { owners: string[] }
    expect(owners.sort()).to.deep.equal(status.owners.sort())
    const alive = (JSON.parse((await daemons[0]!.cli('members', '--status', 'alive', '--json')).stdout) as Array<{ peerId: string }>).map(m => m.peerId)
    for (const o of owners) expect(alive).to.include(o)
    await page.click('tr[data-service="web"]')
    await page.waitForSelector('[data-test="placement"] tr.chosen')
    expect(await page.$$eval('[data-test="placement"] tr.chosen', rows => rows.length)).to.equal(2)

    await page.goto(`${ui}/#/knowledge`)
    await page.selectOption('select[name="example"]', '1')
    await page.selectOption('select[name="scope"]', 'mesh')
    await page.click('button[name="run"]')
    await page.waitForSelector('[data-test="results"] tbody tr')
    const cells = await page.$$eval('[data-test="results"] tbody tr', rows => rows.map(r => r.textContent ?? ''))
    expect(cells.filter(c => c.includes('urn:noodle:service:web'))).to.have.length(2)
    expect(await page.textContent('[data-test="complete"]')).to.include('complete')
    // a query that does not parse: the error, named
    await page.fill('textarea[name="query"]', 'SELECT nothing')
    await page.click('button[name="run"]')
    await page.waitForSelector('[data-test="query-error"]')
    expect(await page.textContent('[data-test="query-error"]')).to.include('SparqlSyntaxError')
    expect((page as Page & { problems: string[] }).problems.filter(p => !p.includes('400'))).to.deep.equal([])
    await page.close()
  })

  it('renders every view without an error in the page: modules with their publisher and services, fusion tasks', async () => {
    const echo = await moduleDir(join(dir.path, 'echo'), { name: 'echo', version: '1.0.0', description: 'says it back', entry: 'build/echo.wasm', exports: ['echo'], capabilities: { log: true } })
    const published = await daemons[0]!.cli('module', 'publish', echo)
    expect(published.code, published.stderr).to.equal(0)
    const page = await open('#/modules')
    await page.waitForSelector('tr[data-module="echo@1.0.0"]', { timeout: 30_000 })
    expect(await page.textContent('tr[data-module="echo@1.0.0"]')).to.include('stored')
    for (const route of ['', 'members', 'services', 'knowledge', 'fusion']) {
      await page.goto(`${ui}/#/${route}`)
      await page.waitForSelector('main h2')
    }
    await page.waitForSelector('[data-test="fusion-stats"]')
    expect(await page.textContent('[data-test="fusion-stats"]')).to.match(/^0 fusions here/)
    expect((page as Page & { problems: string[] }).problems).to.deep.equal([])
    await page.close()
  })

  it('reads without the token; writes only with it, from its own page', async () => {
    const page = await open('#/')
    await page.waitForSelector('[data-test="mesh-size"]')
    // what the console's own code sends (ui/src/api.ts): the token from this tab's storage, when set
    const put = async (): Promise<number> => await page.evaluate(async () => {
      const t = (globalThis as any).sessionStorage.getItem('noodled.token') as string | null
      const res = await fetch('/api/v1/labels/zone', { method: 'PUT', headers: { 'content-type': 'application/json', ...(t != null ? { authorization: `Bearer ${t}` } : {}) }, body: JSON.stringify({ value: 'console' }) })
      return res.status
    })
    expect(await put()).to.equal(401)
    const token = (await readFile(join(daemons[0]!.repo, 'api.token'), 'utf8')).trim()
    await page.evaluate((t) => { (globalThis as any).sessionStorage.setItem('noodled.token', t) }, token)
    expect(await put()).to.equal(200)
    const shown = JSON.parse((await daemons[0]!.cli('label', '--json')).stdout) as { labels: Record<string, string> }
    expect(shown.labels.zone).to.equal('console')
    // capability tokens and the audit trail are not for reading without it either
    expect((await fetch(`${ui}/api/v1/auth`)).status).to.equal(401)
    await page.close()
  })

  it('refuses a foreign Host header (DNS rebinding) and a write from another origin, and sends a content security policy', async () => {
    // (fetch may not set Host: a plain request does, as a rebinding page's browser would)
    const rebound = await new Promise<{ status: number, body: string }>((resolve, reject) => {
      const req = request(`${ui}/api/v1/members`, { headers: { host: 'rebind.example' } }, (res) => {
        let body = ''
        res.setEncoding('utf8').on('data', (c: string) => { body += c }).on('end', () => { resolve({ status: res.statusCode ?? 0, body }) })
      })
      req.on('error', reject).end()
    })
    expect(rebound.status).to.equal(403)
    expect((JSON.parse(rebound.body) as { error: { name: string } }).error.name).to.equal('ForbiddenError')
    // a path that is not valid percent-encoding, or climbs out of the assets: 404, never a file elsewhere
    expect((await fetch(`${ui}/%E0%A4%A`)).status).to.equal(404)
    expect((await fetch(`${ui}/..%2f..%2fpackage.json`)).status).to.equal(404)
    const index = await fetch(`${ui}/`)
    expect(index.headers.get('content-security-policy')).to.include("script-src 'self'").and.to.include("frame-ancestors 'none'")

    // a page on another origin posts to the console (a "simple" request: no preflight stops it in the
    // browser, so the server must): the daemon must not shut down
    const evil = createServer((_req, res) => {
      res.setHeader('content-type', 'text/html')
      res.end(`<title></title><script>fetch(${JSON.stringify(`${ui}/api/v1/shutdown`)}, { method: 'POST', mode: 'no-cors', body: '{}' }).then(() => { document.title = 'sent' }, (e) => { document.title = 'failed ' + e })</script>`)
    })
    servers.push(evil)
    await new Promise<void>(resolve => evil.listen(0, '127.0.0.1', resolve))
    const page = await browser!.newPage()
    await page.goto(`http://127.0.0.1:${(evil.address() as AddressInfo).port}/`)
    await page.waitForFunction(() => (globalThis as any).document.title !== '')
    // sent either way (its answer is opaque to that page, or withheld by the browser); the server refused it
    expect(await page.title()).to.match(/^(sent|failed)/)
    await page.close()
    const status = await daemons[0]!.cli('status', '--json')
    expect(status.code).to.equal(0)
  })
})
