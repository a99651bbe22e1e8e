import { existsSync } from 'node:fs'
import { mkdir } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { pick } from '../harness/rng.js'
import { ensureNetwork } from './common.js'
import type { Scenario } from './types.js'

const REPO = resolve(fileURLToPath(new URL('../../..', import.meta.url)))
/** Where the screenshots go: beside the console's manual. */
const SHOTS = join(REPO, 'docs', 'console')
const CHROMIUM = process.env.CHROMIUM_PATH ?? ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/bin/google-chrome'].find(p => existsSync(p))
/** Services deployed so the services view has something to show (no module: placement alone). */
const SERVICES = 8
/** How long a killed member may take to show as failed on the open page. */
const DETECT_WITHIN_MS = 60_000
/** The goal: the console's first full render (every member's row) within this of navigation. */
const FIRST_RENDER_MS = 1000

/**
 * console: the web console of the first daemon, in a real headless
 * Chromium, against the whole network (the runner gives every daemon a UI
 * on a free port). Measures the first render (navigation to a row for every
 * member), what the page does when a member is SIGKILLed (how long until
 * its row shows failed, the API requests and the long tasks meanwhile),
 * and leaves a screenshot of every view in docs/console/.
 */
export const consoleScenario: Scenario = async ({ net, nodes, random, progress, mark }) => {
  if (CHROMIUM == null) throw new Error('the console scenario needs Chromium: apt-get install chromium, or set CHROMIUM_PATH')
  const { chromium } = await import('playwright-core')
  const join0 = await ensureNetwork(net, nodes, progress)
  const first = net.nodes[0]!
  const ui = /ui: +(http:\/\/\S+)/.exec(first.daemon.stdout)?.[1]
  if (ui == null) throw new Error('the first daemon serves no console (the runner starts every daemon with "ui": "127.0.0.1:0" for this scenario)')
  progress('deploying services')
  for (let i = 0; i < SERVICES; i++) await first.client.deploy({ name: `svc-${i}`, replicas: 3 })

  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] })
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } })
    const problems: string[] = []
    page.on('pageerror', (err) => { problems.push(err.message) })
    // tasks of 50 ms or more on the page's main thread: what makes updates stutter
    await page.addInitScript(() => {
      const g = globalThis as any
      g.__longTasks = []
      new g.PerformanceObserver((list: any) => { for (const e of list.getEntries()) g.__longTasks.push(e.duration) }).observe({ type: 'longtask', buffered: true })
    })
    const requests: Array<{ at: number, url: string }> = []
    page.on('request', (req) => { requests.push({ at: Date.now(), url: req.url() }) })

    progress('first render')
    const live = net.live().length
    // the floor, from this process at the same moment: the requests the first render needs, in one
    // round as the page makes them, answered by the same console server (the daemon on this busy host)
    const floorAt = performance.now()
    await Promise.all(['/id', '/status', '/members', '/membership/stats'].map(async path => await (await fetch(`${ui}/api/v1${path}`)).arrayBuffer()))
    const apiFloorMs = performance.now() - floorAt
    await page.goto(`${ui}/#/members`)
    await page.waitForFunction((n) => (globalThis as any).document.querySelectorAll('tr[data-peer]').length >= n, live, { timeout: 60_000 })
    const firstRenderMs = await page.evaluate(() => (globalThis as any).performance.now() as number)
    const firstRenderLongTasks = await page.evaluate(() => [...(globalThis as any).__longTasks] as number[])
    // the page's own marks (ui/src): when the members had been parsed, and the first render after that;
    // between them is the wait for an animation frame, which a starved host's Chromium gives late
    const marks = await page.evaluate(() => {
      const p = (globalThis as any).performance
      const members = (p.getEntriesByName('noodled:members') as Array<{ startTime: number }>)[0]?.startTime ?? null
      const render = members == null ? null : (p.getEntriesByName('noodled:render') as Array<{ startTime: number }>).find(e => e.startTime >= members)?.startTime ?? null
      return { members, render }
    }) as { members: number | null, render: number | null }
    // of that, until the members had arrived (Resource Timing), and after: the page's own work
    const membersArrivedMs = await page.evaluate(() => {
      const entries = (globalThis as any).performance.getEntriesByType('resource') as Array<{ name: string, responseEnd: number }>
      return entries.find(e => e.name.endsWith('/api/v1/members'))?.responseEnd ?? null
    }) as number | null
    await mkdir(SHOTS, { recursive: true })
    await page.screenshot({ path: join(SHOTS, 'members.png') })

    progress('a member killed')
    const victim = pick(net.live().slice(1), random)
    const before = requests.length
    const longBefore = await page.evaluate(() => ((globalThis as any).__longTasks as number[]).length)
    const killedAt = await net.kill(victim)
    mark(`kill ${victim.index}`, killedAt)
    await page.waitForSelector(`tr[data-peer="${victim.peerId}"][data-status="failed"]`, { timeout: DETECT_WITHIN_MS })
    const shownFailedMs = Date.now() - killedAt
    const seenByDaemonMs = (net.eventAt(first, victim.peerId, 'failed', killedAt) ?? Date.now()) - killedAt
    // what the page asked for while the news spread (the stream is one request, open throughout)
    await new Promise(resolve => setTimeout(resolve, 2000))
    const duringUpdate = requests.slice(before).map(r => new URL(r.url).pathname)
    const longTasks = (await page.evaluate(() => (globalThis as any).__longTasks as number[])).slice(longBefore)

    progress('screenshots')
    const views: Array<[string, string]> = [['overview', '#/'], ['services', '#/services'], ['modules', '#/modules'], ['fusion', '#/fusion']]
    for (const [name, hash] of views) {
      await page.goto(`${ui}/${hash}`)
      await page.waitForSelector('main h2')
      await page.waitForLoadState('networkidle').catch(() => {})
      await page.screenshot({ path: join(SHOTS, `${name}.png`) })
    }
    await page.goto(`${ui}/#/services`)
    await page.waitForSelector('tr[data-service="svc-0"]')
    await page.click('tr[data-service="svc-0"]')
    await page.waitForSelector('[data-test="placement"]')
    await page.screenshot({ path: join(SHOTS, 'service-placement.png'), fullPage: true })
    await page.goto(`${ui}/#/knowledge`)
    await page.selectOption('select[name="example"]', '0')
    await page.click('button[name="run"]')
    await page.waitForSelector('[data-test="results"] tbody tr', { timeout: 60_000 })
    await page.screenshot({ path: join(SHOTS, 'knowledge.png') })

    return {
      headline: { 'first render (ms)': Math.round(firstRenderMs), 'its API requests alone (ms)': Math.round(apiFloorMs), 'failed shown after (ms)': shownFailedMs, 'requests during the update': duringUpdate.length },
      summary: {
        convergenceMs: join0?.convergenceMs,
        members: live,
        firstRenderMs: Math.round(firstRenderMs),
        membersArrivedMs: membersArrivedMs != null ? Math.round(membersArrivedMs) : null,
        renderAfterArrivalMs: membersArrivedMs != null ? Math.round(firstRenderMs - membersArrivedMs) : null,
        apiFloorMs: Math.round(apiFloorMs),
        firstRenderLongTasksMs: firstRenderLongTasks,
        membersParsedMs: marks.members != null ? Math.round(marks.members) : null,
        renderedMs: marks.render != null ? Math.round(marks.render) : null,
        killed: victim.peerId,
        failedShownAfterMs: shownFailedMs,
        failedSeenByTheDaemonAfterMs: seenByDaemonMs,
        requestsDuringUpdate: duringUpdate,
        longTasksDuringUpdateMs: longTasks,
        pageErrors: problems,
        screenshots: SHOTS
      },
      goals: [
        { name: 'first render of every member (the same requests from Node, same moment: apiFloorMs)', target: `<= ${FIRST_RENDER_MS} ms`, value: Math.round(firstRenderMs), met: firstRenderMs <= FIRST_RENDER_MS },
        { name: 'no page errors', target: '0', value: problems.length, met: problems.length === 0 }
      ],
      plot: { title: `console: ${live} members`, xLabel: 'long tasks during the update (ms)', series: [{ name: 'long tasks', values: longTasks }] }
    }
  } finally {
    await browser.close()
  }
}
