import { echoModule, runningServices } from '../harness/modules.js'
import { perDaemonLimit, type Network, type SimNode } from '../harness/network.js'
import { POLL_DAEMONS_MS, until } from './common.js'

/** How long deployEcho waits for every service to run: 3 s per live daemon, at least 180 s. */
export function deployTimeoutFor (nodes: number): number {
  return perDaemonLimit(nodes, 180_000)
}

/**
 * Publish the echo module as `module` on `on`, deploy `names` (each with
 * `replicas`) from another node once its catalog holds the module, and wait
 * until every service runs on `replicas` owners. Returns each service's
 * running owners, and how long after the first deploy request they all ran.
 */
export async function deployEcho (net: Network, on: SimNode, module: string, names: string[], replicas: number, timeoutMs = deployTimeoutFor(net.live().length)): Promise<{ owners: Map<string, SimNode[]>, runningAfterMs: number }> {
  const { manifest, wasm } = await echoModule(module)
  await on.client.publishModule(manifest, wasm)
  const deployer = net.live().find(n => n !== on) ?? on
  await until(async () => (await deployer.client.resolveModule(`${module}@^1`).then(() => true, () => false)), 60_000, `the catalog entry of ${module} to reach node ${deployer.index}`)
  const deployedAt = Date.now()
  for (const name of names) await deployer.client.deploy({ name, replicas, module: `${module}@^1` })
  let owners = new Map<string, SimNode[]>()
  await until(async () => {
    owners = await runningServices(net)
    return names.every(n => (owners.get(n)?.length ?? 0) >= replicas)
  }, timeoutMs, `${names.length} service(s) to run on ${replicas} owners each`, POLL_DAEMONS_MS)
  return { owners: new Map(names.map(n => [n, owners.get(n)!])), runningAfterMs: Date.now() - deployedAt }
}
