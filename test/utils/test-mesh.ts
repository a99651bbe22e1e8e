import { createNode, type NodeInit, type NoodleNode } from '../../lib/node/index.js'

/**
 * Loopback, ephemeral port, `local` profile: the in-process test defaults.
 * The host's load average does not count toward local health here unless a
 * test asks for it: these nodes share the test runner's one process, whose
 * event-loop lag they already see, and a busy CI host (load ~6 per CPU)
 * otherwise stretched every detection timeout 3-4x past the tests'
 * deadlines. Real daemon processes (test/e2e) keep the preset's value.
 */
export async function localNode (init: NodeInit = {}): Promise<NoodleNode> {
  return createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], profile: 'local', ...init, membership: { loadPerHealthPoint: 0, ...init.membership } })
}

/**
 * N real libp2p nodes in this process: the first listens, the others
 * bootstrap from it. Stop them with `stopAll`.
 */
export async function startMesh (n: number, init: NodeInit = {}, firstInit: NodeInit = {}): Promise<NoodleNode[]> {
  const first = await localNode({ ...init, ...firstInit })
  const bootstrap = [first.getMultiaddrs()[0]!.toString()]
  const rest = await Promise.all(Array.from({ length: n - 1 }, async () => localNode({ ...init, bootstrap })))
  return [first, ...rest]
}

export async function stopAll (nodes: Array<NoodleNode | undefined>): Promise<void> {
  await Promise.all(nodes.map(async n => n?.stop()))
}

/** True when every node lists every node (itself included) as alive. */
export function converged (nodes: NoodleNode[]): boolean {
  return nodes.every(n => n.services.membership.members().filter(m => m.status === 'alive').length === nodes.length)
}

/**
 * N in-process nodes as one object (kad-dht's TestDHT habit): start them,
 * see whether every node lists every other, add a late joiner, stop them all
 * (specs stop it in `afterEach`).
 */
export class TestMesh {
  readonly nodes: NoodleNode[]
  private readonly init: NodeInit

  private constructor (nodes: NoodleNode[], init: NodeInit) {
    this.nodes = nodes
    this.init = init
  }

  static async start (n: number, init: NodeInit = {}): Promise<TestMesh> {
    return new TestMesh(await startMesh(n, init), init)
  }

  /** True when every node lists every other as alive. */
  converged (): boolean {
    return converged(this.nodes)
  }

  /** A node that joins through the first one. */
  async join (init: NodeInit = {}): Promise<NoodleNode> {
    const node = await localNode({ ...this.init, ...init, bootstrap: [this.nodes[0]!.getMultiaddrs()[0]!.toString()] })
    this.nodes.push(node)
    return node
  }

  async stop (): Promise<void> {
    await stopAll(this.nodes)
    this.nodes.length = 0
  }
}
