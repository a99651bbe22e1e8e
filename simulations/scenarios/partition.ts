import { setTimeout as sleep } from 'node:timers/promises'
import { runners } from '../harness/modules.js'
import type { Network, SimNode } from '../harness/network.js'
import type { NetnsLab } from '../harness/netns.js'
import { pick } from '../harness/rng.js'
import { allAlive, ensureNetwork, POLL_DAEMONS_MS, statusOf, until } from './common.js'
import { deployEcho } from './services.js'
import type { Scenario } from './types.js'

const SERVICE = 'partitioned'
const REPLICAS = 3
/** how long the cut pair stays cut: many probe rounds and suspicion timeouts */
const PAIR_CUT_MS = 20_000

interface Reconcile {
  /** from the heal until the service ran on exactly its owners (ms), or why not */
  reconciledMs: number | string
  /** the most nodes running it at once after the heal (more than the replicas: duplicated owners, for a while) */
  mostRunning: number
  /** the fewest, after the heal (fewer: an owner lost, for a while) */
  fewestRunning: number
  /** [ms since the heal, nodes running it] at each poll */
  running: Array<[number, number]>
}

/**
 * From the heal: how long until every member holds every other alive
 * (`healMs`, from events), and until, with membership merged, the service
 * runs on exactly the owners placement names (asked of `judge`), REPLICAS
 * of them. Which daemons run it is polled from the heal on, so owners
 * duplicated or lost while the views merge show in `mostRunning` and
 * `fewestRunning`.
 */
async function afterHeal (net: Network, judge: SimNode, healedAt: number): Promise<Reconcile & { healMs: number | string }> {
  let most = 0
  let fewest = Infinity
  const series: Array<[number, number]> = []
  let merged = false
  const healing = healed(net).then(ms => { merged = true; return ms })
  let reconciledMs: number | string
  try {
    await until(async () => {
      // read before asking: the placement below must have been computed over merged views
      const mergedBefore = merged
      const [running, status] = await Promise.all([runners(net, SERVICE), judge.client.service(SERVICE)])
      series.push([Date.now() - healedAt, running.length])
      most = Math.max(most, running.length)
      fewest = Math.min(fewest, running.length)
      const owners = new Set(status.owners)
      return mergedBefore && running.length === REPLICAS && owners.size === REPLICAS && running.every(n => owners.has(n.peerId))
    }, 180_000, `${SERVICE} to run on exactly its ${REPLICAS} owners`, POLL_DAEMONS_MS)
    reconciledMs = Date.now() - healedAt
  } catch {
    reconciledMs = 'not within 180 s'
  }
  return { healMs: await healing, reconciledMs, mostRunning: most, fewestRunning: fewest, running: series }
}

/** Until every node in `a` holds every node in `b` not alive (failed or gone). */
async function seenApart (a: SimNode[], b: SimNode[], timeoutMs: number): Promise<number | string> {
  const t0 = Date.now()
  try {
    await until(() => a.every(o => b.every(n => statusOf(o, n.peerId) !== 'alive')), timeoutMs, 'the sides to see each other gone')
    return Date.now() - t0
  } catch {
    return `not within ${timeoutMs / 1000} s`
  }
}

async function healed (net: Network): Promise<number | string> {
  const t0 = Date.now()
  try {
    await until(() => allAlive(net), 180_000, 'every member to hold every other alive after the heal')
    return Date.now() - t0
  } catch {
    return 'not within 180 s'
  }
}

/**
 * partition (network namespaces only, `--netns`): a 3-replica service, then
 * three real cuts, each healed before the next:
 * 1. one node isolated (its bridge port down);
 * 2. two islands, half and half (ports moved to a second bridge);
 * 3. a pair that cannot reach each other (blackhole routes) but reaches the
 *    rest: nobody should be failed, SWIM's indirect probes go round the cut.
 * After each heal: time until every member holds every other alive, and
 * until the service runs on exactly its placement owners again (no
 * duplicated, no lost owner).
 */
export const partition: Scenario = async ({ net, nodes, random, progress, mark, netns }) => {
  if (netns == null) throw new Error('partition needs --netns (network namespaces)')
  const lab: NetnsLab = netns
  const join = await ensureNetwork(net, nodes, progress)
  const first = net.live()[0]!
  progress('deploying')
  await deployEcho(net, first, 'sim-echo', [SERVICE], REPLICAS)
  const cases: Array<Record<string, unknown>> = []

  // 1. one isolated node
  {
    progress('isolating one node')
    const victim = pick(net.live().slice(1), random)
    const others = net.live().filter(n => n !== victim)
    const cutAt = Date.now()
    mark(`isolate ${victim.index}`, cutAt)
    await lab.isolate(victim.index)
    const detectedMs = await seenApart(others, [victim], 120_000)
    const victimSawMs = await seenApart([victim], others, 60_000)
    const healAt = Date.now()
    mark('heal', healAt)
    await lab.reconnect(victim.index)
    cases.push({ case: 'one isolated node', node: victim.index, detectedByOthersMs: detectedMs, isolatedSawOthersGoneMs: victimSawMs, ...(await afterHeal(net, first, healAt)) })
  }

  // 2. two islands, half and half
  {
    progress('two islands')
    const rest = net.live().slice(1)
    const island: SimNode[] = []
    while (island.length < Math.floor(net.live().length / 2)) {
      const n = pick(rest.filter(r => !island.includes(r)), random)
      island.push(n)
    }
    const mainland = net.live().filter(n => !island.includes(n))
    const cutAt = Date.now()
    mark(`islands ${mainland.length}/${island.length}`, cutAt)
    await lab.islands(island.map(n => n.index))
    const [aMs, bMs] = await Promise.all([seenApart(mainland, island, 180_000), seenApart(island, mainland, 180_000)])
    // during the split, each side places the service among its own members
    await sleep(5_000)
    const during = await runners(net, SERVICE)
    const healAt = Date.now()
    mark('heal', healAt)
    await lab.mergeIslands(island.map(n => n.index))
    cases.push({
      case: `two islands (${mainland.length} / ${island.length})`,
      island: island.map(n => n.index),
      mainlandSawIslandGoneMs: aMs,
      islandSawMainlandGoneMs: bMs,
      runningDuringSplit: { mainland: during.filter(n => mainland.includes(n)).length, island: during.filter(n => island.includes(n)).length },
      ...(await afterHeal(net, first, healAt))
    })
  }

  // 3. a pair that cannot reach each other, but reaches everyone else
  {
    progress('a cut pair')
    const a = pick(net.live().slice(1), random)
    const pair: [SimNode, SimNode] = [a, pick(net.live().slice(1).filter(n => n !== a), random)]
    const cutAt = Date.now()
    mark(`cut ${pair[0].index}-${pair[1].index}`, cutAt)
    await lab.cutPair(pair[0].index, pair[1].index)
    await sleep(PAIR_CUT_MS)
    const healAt = Date.now()
    await lab.healPair(pair[0].index, pair[1].index)
    mark('heal', healAt)
    const about = (n: SimNode, type: string): number => net.nodes.reduce((s, o) => s + o.events.filter(e => e.peerId === n.peerId && e.type === type && e.at >= cutAt).length, 0)
    const falseFailures = about(pair[0], 'failed') + about(pair[1], 'failed')
    const suspicions = about(pair[0], 'suspect') + about(pair[1], 'suspect')
    cases.push({ case: 'a pair cut from each other', pair: pair.map(n => n.index), cutMs: PAIR_CUT_MS, falseFailures, suspicions, ...(await afterHeal(net, first, healAt)) })
  }

  const healTimes = cases.map(c => c.healMs).filter((v): v is number => typeof v === 'number')
  const reconcileTimes = cases.map(c => c.reconciledMs).filter((v): v is number => typeof v === 'number')
  const pairCase = cases[2]!
  return {
    headline: {
      'heal, isolated node (ms)': cases[0]!.healMs as number | string,
      'heal, islands (ms)': cases[1]!.healMs as number | string,
      'placement reconciled, islands (ms)': cases[1]!.reconciledMs as number | string,
      'most running after the islands healed': cases[1]!.mostRunning as number,
      'cut pair false failures': pairCase.falseFailures as number
    },
    summary: { convergenceMs: join?.convergenceMs, replicas: REPLICAS, cases },
    goals: [
      { name: 'every heal merged membership', target: '3 of 3', value: healTimes.length, met: healTimes.length === 3 },
      { name: 'placement reconciled after every heal (exactly the owners, none lost, none duplicated)', target: '3 of 3', value: reconcileTimes.length, met: reconcileTimes.length === 3 },
      {
        name: `from each heal until reconciled, never more nor fewer than ${REPLICAS} daemons ran it`,
        target: `${REPLICAS}..${REPLICAS}`,
        value: `${Math.min(...cases.map(c => c.fewestRunning as number))}..${Math.max(...cases.map(c => c.mostRunning as number))}`,
        met: cases.every(c => c.mostRunning === REPLICAS && c.fewestRunning === REPLICAS)
      },
      { name: 'a cut pair reachable through others is not failed', target: '0', value: pairCase.falseFailures as number, met: pairCase.falseFailures === 0 }
    ],
    plot: {
      title: `partition: ${nodes} daemons in network namespaces`,
      xLabel: 'ms from the heal',
      series: [{ name: 'membership merged', values: healTimes }, { name: 'placement reconciled', values: reconcileTimes }]
    }
  }
}
