import { join } from 'node:path'
import { DaemonProcess } from '../../simulations/harness/daemon-process.js'
import { waitFor } from './wait-for.js'

// Tests drive real daemons with the same helper the simulation harness uses.
export * from '../../simulations/harness/daemon-process.js'

/**
 * N real daemons under `dir` (d0 .. dN-1), the others bootstrapped from d0,
 * returned once every one lists all N as alive. Kill them with `killAll`.
 * `firstArgs`: more `noodled start` flags for d0.
 */
export async function startDaemonMesh (dir: string, n: number, firstArgs: string[] = []): Promise<{ daemons: DaemonProcess[], ids: string[] }> {
  const first = await DaemonProcess.start(join(dir, 'd0'), ['--log-level', 'warn', ...firstArgs])
  const boot = (await first.id()).addrs[0]!
  const rest = await Promise.all(Array.from({ length: n - 1 }, async (_, i) => DaemonProcess.start(join(dir, `d${i + 1}`), ['--bootstrap', boot, '--log-level', 'warn'])))
  const daemons = [first, ...rest]
  const ids = await Promise.all(daemons.map(async d => (await d.id()).peerId))
  await waitFor(async () => {
    for (const d of daemons) {
      const res = await d.cli('members', '--status', 'alive', '--json')
      if (res.code !== 0 || (JSON.parse(res.stdout) as unknown[]).length !== n) return false
    }
    return true
  }, { timeoutMs: 60_000, what: `${n} daemons to list ${n} alive members each` })
  return { daemons, ids }
}

/** `noodled ARGS --json` against `d`, parsed; a failing command throws with its stderr. */
export async function json<T> (d: DaemonProcess, ...args: string[]): Promise<T> {
  const res = await d.cli(...args, '--json')
  if (res.code !== 0) throw new Error(`${args.join(' ')}: ${res.stderr}`)
  return JSON.parse(res.stdout) as T
}

/** Wait until `d` resolves `service` to at least one healthy instance. */
export async function untilResolvedHealthy (d: DaemonProcess, service: string, timeoutMs = 60_000): Promise<void> {
  await waitFor(async () => {
    const res = await d.cli('service', 'resolve', service, '--json')
    return res.code === 0 && (JSON.parse(res.stdout) as { instances: Array<{ healthy: boolean }> }).instances.some(i => i.healthy)
  }, { timeoutMs, what: `a daemon to resolve ${service}` })
}
