import { expect } from 'chai'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { MemoryDatastore } from 'datastore-core/memory'
import type { PeerId } from '@libp2p/interface'
import { TopicValidatorResult } from '@libp2p/gossipsub'
import { encodeMessage, type Advert } from '../../lib/membership/wire.js'
import { TIMING_PRESETS } from '../../lib/membership/presets.js'
import { createNode, type NoodleNode } from '../../lib/node/index.js'
import { localNode, startMesh, stopAll, converged } from '../utils/test-mesh.js'
import { waitFor } from '../utils/wait-for.js'

import { allSee, claimUntil, deafen, deafToClaimsAboutItself, record, statusOf } from './mesh-helpers.js'

const mesh = startMesh

describe('gossip membership (in-process meshes)', function () {
  this.timeout(60_000)
  let nodes: NoodleNode[] = []
  afterEach(async () => {
    await stopAll(nodes)
    nodes = []
  })

  it('takes the timing preset from the profile and overrides single fields', async () => {
    nodes = [await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], profile: 'local', membership: { probeTimeoutMs: 123 } })]
    const t = nodes[0]!.services.membership.timing
    expect(t.probeTimeoutMs).to.equal(123)
    expect(t.indirectTimeoutMs).to.equal(TIMING_PRESETS.local.indirectTimeoutMs)
    expect(t.lagPerHealthPointMs).to.equal(TIMING_PRESETS.local.lagPerHealthPointMs)
    expect(t.loadPerHealthPoint).to.equal(TIMING_PRESETS.local.loadPerHealthPoint)
    expect(t.maxLocalHealth).to.equal(32)
    // the local health score is shown with its parts
    const stats = nodes[0]!.services.membership.stats()
    expect(stats.localHealthParts).to.have.keys('probe', 'lag', 'load')
    expect(stats.localHealth).to.equal(Math.min(t.maxLocalHealth, stats.localHealthParts.probe + stats.localHealthParts.lag + stats.localHealthParts.load))
  })

  it('converges: every node lists every other as alive, with resources and itself marked', async () => {
    nodes = await mesh(5)
    await waitFor(() => converged(nodes), { what: 'five alive members everywhere' })
    const view = nodes[2]!.services.membership.members()
    expect(view.filter(m => m.self).map(m => m.peerId)).to.deep.equal([nodes[2]!.peerId.toString()])
    const other = view.find(m => !m.self)!
    expect(other.resources.cpus).to.be.greaterThan(0)
    expect(other.resources.memTotal).to.be.greaterThan(0)
    expect(other.resources.slotsTotal).to.be.greaterThan(0)
    expect(other.addrs[0]).to.match(/^\/ip4\/127\.0\.0\.1\/tcp\/\d+\/p2p\//)
    expect(other.version).to.match(/^\d+\.\d+\.\d+/)
  })

  it('marks a node failed everywhere after it goes silent without closing connections', async () => {
    nodes = await mesh(4)
    await waitFor(() => converged(nodes), { what: 'convergence' })
    const victim = nodes[3]!
    const events = record(nodes[0]!)
    const others = nodes.slice(0, 3)
    const connections = others.flatMap(n => n.getConnections(victim.peerId))
    expect(connections).to.not.have.length(0)
    // silent: no more adverts and no probe answers, but its connections stay open
    await victim.services.membership.stop()
    await waitFor(() => allSee(others, victim, 'failed'), { timeoutMs: 30_000, what: 'all others to mark the victim failed' })
    // which the others then abort: streams on them would hang (a connection across a cut)
    await waitFor(() => connections.every(c => c.status !== 'open'), { what: 'the connections to the failed member to be aborted' })
    const mine = events.filter(e => e.peerId === victim.peerId.toString())
    expect(mine.map(e => e.type)).to.deep.equal(['suspect', 'failed'])
    // each verdict says whose evidence it is and what it rests on: the connection stayed open,
    // so nobody's dial was refused
    const witnesses = others.map(n => n.peerId.toString())
    for (const e of mine) expect(witnesses).to.include(e.by)
    expect(mine[0]!.reason).to.be.oneOf(['no-ack', 'claim'])
    expect(mine[1]!.reason).to.be.oneOf(['timeout', 'claim'])
    if (mine[1]!.reason === 'timeout') expect(mine[1]!.by).to.equal(nodes[0]!.peerId.toString())
    // nobody else was blamed
    for (const n of others) {
      expect(n.services.membership.members().filter(m => m.status !== 'alive').map(m => m.peerId)).to.deep.equal([victim.peerId.toString()])
    }
  })

  it('announces a graceful stop, and the others mark it left (not failed)', async () => {
    nodes = await mesh(3)
    await waitFor(() => converged(nodes), { what: 'convergence' })
    const leaver = nodes[2]!
    const events = record(nodes[0]!)
    await leaver.stop()
    await waitFor(() => allSee(nodes.slice(0, 2), leaver, 'left'), { what: 'the others to mark it left' })
    expect(events.filter(e => e.peerId === leaver.peerId.toString()).map(e => e.type)).to.deep.equal(['left'])
  })

  it('a graceful stop reaches connected members directly when gossip carries nothing', async () => {
    nodes = await mesh(3)
    await waitFor(() => converged(nodes), { what: 'convergence' })
    const leaver = nodes[2]!
    const others = nodes.slice(0, 2)
    // the others hear nothing on the membership topic from here on (as when gossipsub has no mesh yet)
    for (const n of others) n.services.pubsub.topicValidators.set(n.services.membership.topic, async () => TopicValidatorResult.Ignore)
    for (const n of others) await n.dial(leaver.getMultiaddrs()[0]!)
    // a dial resolves on the dialler's side before the listener has taken the connection
    // (Noise XX ends with the dialler's message): the leaver tells only members it holds
    await waitFor(() => others.every(n => leaver.getConnections(n.peerId).some(c => c.status === 'open')), { what: 'the leaver to hold both connections' })
    const events = record(nodes[0]!)
    await leaver.stop()
    await waitFor(() => allSee(others, leaver, 'left'), { what: 'the others to mark it left' })
    expect(events.filter(e => e.peerId === leaver.peerId.toString()).map(e => e.type)).to.deep.equal(['left'])
  })

  it('a newcomer is told of a member its neighbour suspects, and leaves the suspicion to its monitors', async () => {
    // adverts are rare here, so the newcomer can learn of the target only from a member list
    nodes = await mesh(3, { membership: { advertIntervalMs: 60_000, suspicionMinMs: 10_000 } })
    await waitFor(() => converged(nodes), { what: 'convergence' })
    const [bootstrap, accuser, target] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    deafToClaimsAboutItself(target)
    await claimUntil(accuser, 'suspect', target, target.services.membership.currentIncarnation,
      () => statusOf(bootstrap, target) === 'suspect', 'the bootstrap to suspect the target')
    // the newcomer's only member list is the bootstrap's (the others' lists would name the target alive)
    for (const n of [accuser, target]) await n.unhandle('/noodle/members/sync/1.0.0')
    const newcomer = await localNode({ bootstrap: [bootstrap.getMultiaddrs()[0]!.toString()], membership: { advertIntervalMs: 60_000, suspicionMinMs: 10_000 } })
    nodes.push(newcomer)
    await waitFor(() => statusOf(newcomer, target) != null, { what: 'the newcomer to learn of the target' })
    // not suspected on the neighbour's word: a newcomer that judged members it never heard from
    // failed live ones everywhere in a 50-daemon start
    expect(statusOf(newcomer, target)).to.equal('alive')
  })

  it('a suspected member refutes by raising its incarnation', async () => {
    nodes = await mesh(3)
    await waitFor(() => converged(nodes), { what: 'convergence' })
    const [accuser, watcher, target] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    const events = record(watcher)
    const before = target.services.membership.currentIncarnation
    await claimUntil(accuser, 'suspect', target, before,
      () => target.services.membership.currentIncarnation > before, 'the target to raise its incarnation')
    await waitFor(() => watcher.services.membership.member(target.peerId.toString()).incarnation > before &&
      statusOf(watcher, target) === 'alive', { what: 'the watcher to accept the refutation' })
    const types = events.filter(e => e.peerId === target.peerId.toString()).map(e => e.type)
    expect(types).to.include('suspect')
    expect(types).to.not.include('failed')
    // an old claim about the refuted incarnation is ignored
    const after = target.services.membership.currentIncarnation
    const received = watcher.services.membership.stats().claimsReceived
    await claimUntil(accuser, 'suspect', target, before,
      () => watcher.services.membership.stats().claimsReceived > received, 'the stale claim to arrive')
    expect(statusOf(watcher, target)).to.equal('alive')
    expect(target.services.membership.currentIncarnation).to.equal(after)
  })

  it('a suspicion that runs out unrefuted ends without a failure when the member answers a last direct probe', async () => {
    nodes = await mesh(3)
    await waitFor(() => converged(nodes), { what: 'convergence' })
    const [accuser, watcher, target] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    // nothing the target gossips reaches the watcher, not its adverts nor its refutation
    // (as when gossip starves on a busy host), but it still answers probes
    deafen(watcher, target)
    // nor any member list (the target's refuted advert pushed with its pull, or listed by the
    // accuser): under load the watcher's suspicion lasts longer and one of those ended it first
    // (CI: 'recovered' without a last probe, once in a full run)
    for (const n of nodes) await n.unhandle('/noodle/members/sync/1.0.0')
    const events = record(watcher)
    await claimUntil(accuser, 'suspect', target, target.services.membership.currentIncarnation,
      () => events.some(e => e.peerId === target.peerId.toString()), 'the watcher to suspect the target')
    await waitFor(() => watcher.services.membership.stats().lastChanceAlive >= 1, { timeoutMs: 30_000, what: 'the watcher to reach the target itself' })
    const types = events.filter(e => e.peerId === target.peerId.toString()).map(e => e.type)
    expect(types).to.deep.equal(['suspect', 'recovered'])
    expect(statusOf(watcher, target)).to.equal('alive')
  })

  it('ignores a failed claim about a member whose own newer advert arrived since it was suspected', async () => {
    nodes = await mesh(3)
    await waitFor(() => converged(nodes), { what: 'convergence' })
    const [accuser, watcher, target] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    // the target never hears a claim about itself, so it does not refute; its ordinary adverts still reach the watcher
    deafToClaimsAboutItself(target)
    // nor does it read of its suspicion in a member list (a late or retried pull would show it)
    for (const n of [accuser, watcher]) await n.unhandle('/noodle/members/sync/1.0.0')
    const events = record(watcher)
    const id = target.peerId.toString()
    const incarnation = target.services.membership.currentIncarnation
    await claimUntil(accuser, 'suspect', target, incarnation,
      () => events.some(e => e.peerId === id && e.type === 'suspect'), 'the watcher to suspect the target')
    await waitFor(() => events.some(e => e.peerId === id && e.type === 'recovered'), { what: 'a newer advert to end the suspicion at the watcher' })
    // the accuser's verdict rests on the suspicion that advert answered
    await claimUntil(accuser, 'failed', target, incarnation,
      () => watcher.services.membership.stats().claimsIgnored >= 1, 'the stale verdict to be ignored')
    expect(statusOf(watcher, target)).to.equal('alive')
    // (an update, e.g. the target's addresses growing, may come in between; it is not a verdict)
    expect(events.filter(e => e.peerId === id && e.type !== 'update').map(e => e.type)).to.deep.equal(['suspect', 'recovered'])
    // claimsIgnored counts only verdicts about the incarnation the watcher holds alive since the target's
    // own advert (refutedSince): that is the path under test
  })

  it('a member declared failed by another refutes, and is alive again everywhere', async () => {
    nodes = await mesh(3)
    await waitFor(() => converged(nodes), { what: 'convergence' })
    const [accuser, watcher, target] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    const events = record(watcher)
    const before = target.services.membership.currentIncarnation
    await claimUntil(accuser, 'failed', target, before,
      () => target.services.membership.currentIncarnation > before, 'the target to refute')
    await waitFor(() => statusOf(watcher, target) === 'alive' && watcher.services.membership.member(target.peerId.toString()).incarnation > before,
      { what: 'the watcher to see it alive again' })
    await waitFor(() => watcher.services.membership.stats().claimsReceived >= 1, { what: 'the claim to reach the watcher' })
    // the claim normally lands before the refutation (one hop against two); either way the target ends alive
    const types = events.filter(e => e.peerId === target.peerId.toString()).map(e => e.type)
    if (types.includes('failed')) expect(types.indexOf('recovered')).to.be.greaterThan(types.indexOf('failed'))
    expect(statusOf(watcher, target)).to.equal('alive')
    expect(statusOf(accuser, target)).to.equal('alive')
  })

  it('a member restarted at a new port after it was declared failed is dialled there, not at its old port', async () => {
    nodes = await mesh(2)
    const [a, b] = nodes as [NoodleNode, NoodleNode]
    const bootstrap = [a.getMultiaddrs()[0]!.toString()]
    const privateKey = await generateKeyPair('Ed25519')
    const datastore = new MemoryDatastore()
    const first = await localNode({ privateKey, datastore, bootstrap })
    nodes.push(first)
    await waitFor(() => converged(nodes), { what: 'convergence' })
    const bare = (node: NoodleNode): string[] => node.getMultiaddrs().map(ma => ma.toString().replace(/\/p2p\/[^/]+$/, ''))
    const oldAddrs = bare(first)
    // a crash: silent first (no leave), then gone, so its old port refuses
    await first.services.membership.stop()
    await waitFor(() => allSee([a, b], first, 'failed'), { timeoutMs: 30_000, what: 'both to mark it failed' })
    await first.stop()

    // the same identity and repo on a new port; it cannot dial b, so b learns of it
    // only by gossip (no identify of the new addresses) and dials it itself
    const denyB = async (peer: PeerId): Promise<boolean> => peer.equals(b.peerId)
    const again = await localNode({ privateKey, datastore, bootstrap, connectionGater: { denyDialPeer: denyB } })
    nodes[2] = again
    const newAddrs = bare(again)
    expect(newAddrs).to.not.deep.equal(oldAddrs)
    await waitFor(() => allSee([a, b], again, 'alive'), { timeoutMs: 30_000, what: 'both to see it recovered' })
    // b's peer store holds where it listens now, and nothing of the run before
    await waitFor(async () => {
      const stored = (await b.peerStore.get(again.peerId)).addresses.map(x => x.multiaddr.toString())
      return newAddrs.every(x => stored.includes(x)) && !oldAddrs.some(x => stored.includes(x))
    }, { what: "b's peer store to hold only the new address" })
    await Promise.all(b.getConnections(again.peerId).map(async c => c.close()))
    const conn = await b.dial(again.peerId, { signal: AbortSignal.timeout(10_000) })
    expect(conn.remotePeer.equals(again.peerId)).to.equal(true)
  })

  it('rejects oversized, malformed, impersonating and replayed adverts, counts them, and carries on', async () => {
    nodes = await mesh(3)
    await waitFor(() => converged(nodes), { what: 'convergence' })
    const [liar, victim, observer] = nodes as [NoodleNode, NoodleNode, NoodleNode]
    const topic = liar.services.membership.topic
    const real = observer.services.membership.member(victim.peerId.toString())
    const advert = (over: Partial<Advert>): Advert => ({
      v: 1, type: 'advert', peerId: liar.peerId.toString(), seq: 1, incarnation: 0, status: 'alive', addrs: [], resources: real.resources, labels: {}, services: [], version: 'x', ...over
    })
    const publish = async (data: Uint8Array): Promise<void> => { await liar.services.pubsub.publish(topic, data) }

    await publish(new Uint8Array(7 * 1024).fill(0x20))
    await publish(new TextEncoder().encode('{"v":1,"type":"advert",'))
    await publish(encodeMessage(advert({ peerId: victim.peerId.toString(), seq: 10 ** 9, labels: { owned: 'yes' } })))

    await waitFor(async () => {
      const r = observer.services.membership.stats().rejected
      if ((r.replay ?? 0) === 0) {
        // an old sequence number is only a replay once the observer holds a newer advert
        // from the liar (a member first learnt through a neighbour's list accepts any)
        await publish(encodeMessage(advert({ seq: 1 })))
        return false
      }
      return (r.oversized ?? 0) >= 1 && (r.malformed ?? 0) >= 1 && (r.impersonation ?? 0) >= 1
    }, { intervalMs: 200, what: 'every kind of rejection to be counted' })
    // the impersonated member is untouched, and the mesh still works
    expect(observer.services.membership.member(victim.peerId.toString()).labels).to.deep.equal({})
    await victim.services.membership.setLabel('after', 'attack')
    await waitFor(() => observer.services.membership.member(victim.peerId.toString()).labels.after === 'attack', { what: 'normal adverts to flow' })
    expect(allSee([observer], liar, 'alive')).to.equal(true)
  })

  it('labels set at runtime reach the others as an update, and removal too', async () => {
    nodes = await mesh(3, { membership: { labels: { zone: 'a', disk: 'hdd' } } })
    await waitFor(() => converged(nodes), { what: 'convergence' })
    const [n0, n1] = nodes as [NoodleNode, NoodleNode]
    const events = record(n1)
    expect(n0.services.membership.labels()).to.deep.equal({ zone: 'a', disk: 'hdd' })
    await n0.services.membership.setLabel('disk', 'ssd')
    await n0.services.membership.removeLabel('zone')
    await waitFor(() => JSON.stringify(n1.services.membership.member(n0.peerId.toString()).labels) === JSON.stringify({ disk: 'ssd' }), { what: 'labels to propagate' })
    expect(events.some(e => e.type === 'update' && e.peerId === n0.peerId.toString())).to.equal(true)
    await expect(n0.services.membership.setLabel('bad key!', 'x')).to.be.rejectedWith(/invalid label key/)
    await expect(n0.services.membership.removeLabel('nope')).to.be.rejectedWith(/no label/)
  })
})
