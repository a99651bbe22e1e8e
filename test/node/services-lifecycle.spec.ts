import { serviceDependencies } from '@libp2p/interface'
import { expect } from 'chai'
import type { NoodleNode } from '../../lib/node/index.js'
import { localNode } from '../utils/test-mesh.js'

const NOODLE_SERVICES = ['membership', 'auth', 'registry', 'rpc', 'modules', 'runtime'] as const

describe('noodled services: lifecycle (one in-process node)', () => {
  let node: NoodleNode | undefined
  afterEach(async () => { await node?.stop() })

  it('declare their dependencies, and start and stop idempotently', async () => {
    node = await localNode()
    const protocols = node.getProtocols().sort()
    for (const name of NOODLE_SERVICES) {
      const service = node.services[name] as unknown as { start: () => Promise<void>, isStarted: () => boolean, [k: symbol]: unknown }
      expect(service.isStarted(), name).to.equal(true)
      // a second start changes nothing: no protocol handled twice, no error
      await service.start()
      expect(service[serviceDependencies], `${name} declares its dependencies`).to.be.an('array').that.is.not.empty
    }
    expect(node.getProtocols().sort()).to.deep.equal(protocols)
    await node.stop()
    for (const name of NOODLE_SERVICES) {
      const service = node.services[name] as unknown as { stop: () => Promise<void>, isStarted: () => boolean }
      expect(service.isStarted(), name).to.equal(false)
      await service.stop()
    }
    node = undefined
  })
})
