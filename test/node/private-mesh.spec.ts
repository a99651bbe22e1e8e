import { chmod, readFile, stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { generateKey } from '@libp2p/pnet'
import { expect } from 'chai'
import type { NoodleNode } from '../../lib/node/index.js'
import { initRepo } from '../../lib/repo/init.js'
import { loadSwarmKey } from '../../lib/repo/swarm-key.js'
import { rejection } from '../utils/rejection.js'
import { converged, localNode, startMesh, stopAll } from '../utils/test-mesh.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'

const swarmKey = (): Uint8Array => { const k = new Uint8Array(95); generateKey(k); return k }

describe('private meshes (swarm key, @libp2p/pnet)', function () {
  this.timeout(60_000)
  let nodes: NoodleNode[] = []
  afterEach(async () => { await stopAll(nodes); nodes = [] })

  it('members holding the key form a mesh; a node with another key, or none, cannot connect to them', async () => {
    const key = swarmKey()
    nodes = await startMesh(2, { swarmKey: key })
    await waitFor(() => converged(nodes), { what: 'the private pair to converge' })
    const [a] = nodes as [NoodleNode]
    const stranger = await localNode({ swarmKey: swarmKey() })
    const open = await localNode()
    nodes.push(stranger, open)
    // the dial fails: the key exchange does not decrypt (or, on a busy host, our own deadline ends it first)
    for (const outsider of [stranger, open]) {
      expect((await rejection(outsider.dial(a.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(15_000) }))).name).to.be.a('string')
      expect(outsider.getConnections(a.peerId)).to.have.length(0)
    }
    // nor can they be reached: a private member dialling out fails the same way
    expect((await rejection(a.dial(open.getMultiaddrs()[0]!, { signal: AbortSignal.timeout(15_000) }))).name).to.be.a('string')
    expect(a.getConnections(open.peerId)).to.have.length(0)
    expect(a.services.membership.members().map(m => m.peerId).sort()).to.deep.equal(nodes.slice(0, 2).map(n => n.peerId.toString()).sort())
    expect(a.getPeers().map(p => p.toString())).to.not.include(stranger.peerId.toString())
  })

  it('noodled init --private writes a swarm key only its owner can read; a readable or malformed one is refused by name', async () => {
    const dir = await tmpDir()
    try {
      const result = await initRepo(join(dir.path, 'r'), {}, { private: true })
      expect(result.swarmKey).to.equal(join(dir.path, 'r', 'swarm.key'))
      expect((await stat(result.swarmKey!)).mode & 0o777).to.equal(0o600)
      expect(new TextDecoder().decode(await readFile(result.swarmKey!))).to.match(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}$/)
      expect(await loadSwarmKey(result.swarmKey!)).to.have.length(95)
      // a public repo has none
      expect(await loadSwarmKey(join(dir.path, 'none', 'swarm.key'))).to.equal(undefined)
      await chmod(result.swarmKey!, 0o644)
      expect((await rejection(loadSwarmKey(result.swarmKey!))).message).to.include('must not be readable by others')
      const bad = join(dir.path, 'bad.key')
      await writeFile(bad, 'not a key', { mode: 0o600 })
      const malformed = await rejection(loadSwarmKey(bad))
      expect(malformed.name).to.equal('KeyFileError')
      expect(malformed.message).to.include('is not a libp2p swarm key')
    } finally {
      await dir.cleanup()
    }
  })
})
