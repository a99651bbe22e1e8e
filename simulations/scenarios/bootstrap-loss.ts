import { ensureNetwork, until } from './common.js'
import { distribution } from '../harness/stats.js'
import type { SimNode } from '../harness/network.js'
import type { Scenario } from './types.js'

/** Connected components of the survivors' connection graph. */
async function components (nodes: SimNode[]): Promise<number> {
  const ids = new Set(nodes.map(n => n.peerId))
  const adj = new Map<string, Set<string>>(nodes.map(n => [n.peerId, new Set<string>()]))
  for (const n of nodes) {
    for (const p of await n.client.peers()) {
      if (!ids.has(p.peerId)) continue
      adj.get(n.peerId)!.add(p.peerId)
      adj.get(p.peerId)!.add(n.peerId)
    }
  }
  const seen = new Set<string>()
  let count = 0
  for (const id of ids) {
    if (seen.has(id)) continue
    count++
    const stack = [id]
    while (stack.length > 0) {
      const cur = stack.pop()!
      if (seen.has(cur)) continue
      seen.add(cur)
      stack.push(...adj.get(cur)!)
    }
  }
  return count
}

/** bootstrap-loss: SIGKILL the node everyone bootstrapped from; the rest must stay one mesh. */
export const bootstrapLoss: Scenario = async ({ net, nodes, progress, mark }) => {
  const startedAt = Date.now()
  const join = await ensureNetwork(net, nodes, progress)
  progress('killing the bootstrap node')
  // the first live node: every node started after it was given it as a seed (beside up to
  // two others, Network.bootstrap), the one seed they all share
  const boot = net.live()[0]!
  const killedAt = await net.kill(boot)
  mark('kill bootstrap', killedAt)
  const survivors = net.live()
  await until(() => survivors.every(o => net.eventAt(o, boot.peerId, 'failed', killedAt) != null), 60_000, 'all to mark the bootstrap node failed')
  const detection = survivors.map(o => net.eventAt(o, boot.peerId, 'failed', killedAt)! - killedAt)
  const parts = await components(survivors)
  // gossip still reaches everyone: a label change on one survivor is seen by all others
  progress('broadcast check')
  const speaker = survivors[survivors.length - 1]!
  const saidAt = Date.now()
  await speaker.client.setLabel('after-bootstrap-loss', 'yes')
  const listeners = survivors.filter(n => n !== speaker)
  await until(() => listeners.every(o => net.eventAt(o, speaker.peerId, 'update', saidAt) != null), 30_000, 'the label change to reach every survivor')
  const broadcast = listeners.map(o => net.eventAt(o, speaker.peerId, 'update', saidAt)! - saidAt)
  const falseFailures = survivors.reduce((sum, n) => sum + n.events.filter(e => e.type === 'failed' && e.at >= startedAt && e.peerId !== boot.peerId).length, 0)
  const detected = distribution(detection)
  return {
    headline: { components: parts, 'bootstrap failed, p99 (ms)': detected.p99, 'false failures': falseFailures },
    summary: { convergenceMs: join?.convergenceMs, bootstrapFailedMs: detected, components: parts, broadcastMs: distribution(broadcast), falseFailures },
    goals: [
      { name: 'survivors form one connected mesh', target: '1 component', value: parts, met: parts === 1 },
      { name: 'survivors wrongly marked failed', target: '0', value: falseFailures, met: falseFailures === 0 }
    ],
    plot: {
      title: `bootstrap-loss: ${nodes} daemons`,
      xLabel: 'ms',
      series: [{ name: 'bootstrap node marked failed', values: detection }, { name: 'label change seen after loss', values: broadcast.map(v => Math.max(0, v)) }]
    }
  }
}
