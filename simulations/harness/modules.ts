import { readFile } from 'node:fs/promises'
import { fileURLToPath } from 'node:url'
import type { Network, SimNode } from './network.js'

/** The example echo module (`npm run build:examples`): answers `echo` with its input. */
const ECHO_DIR = fileURLToPath(new URL('../../../examples/modules/echo/', import.meta.url))

function leb128 (n: number): number[] {
  const out: number[] = []
  do {
    let byte = n & 0x7f
    n = Math.floor(n / 128)
    if (n > 0) byte |= 0x80
    out.push(byte)
  } while (n > 0)
  return out
}

/**
 * The echo module under another name, optionally padded with a custom
 * section (wasm section 0, ignored by the engine) to `sizeBytes`: a large
 * module that still runs, for the distribution scenario.
 */
export async function echoModule (name: string, version = '1.0.0', sizeBytes = 0): Promise<{ manifest: Record<string, unknown>, wasm: Uint8Array }> {
  const manifest = JSON.parse(await readFile(`${ECHO_DIR}noodle.json`, 'utf8')) as Record<string, unknown>
  let wasm: Uint8Array = await readFile(`${ECHO_DIR}${String(manifest.entry)}`).catch((err: Error) => {
    throw new Error(`${err.message}: build the example modules first (npm run build:examples)`)
  })
  if (sizeBytes > wasm.byteLength) {
    const name = Buffer.concat([Buffer.from(leb128(19)), Buffer.from('noodled-sim-padding')])
    // within 4 bytes of sizeBytes: the section size's LEB128 takes up to 5
    const payload = Math.max(0, sizeBytes - wasm.byteLength - 1 - 5 - name.byteLength)
    const section = Buffer.concat([Buffer.from([0, ...leb128(name.byteLength + payload)]), name, Buffer.alloc(payload, 0x6e)])
    wasm = Buffer.concat([wasm, section])
  }
  return { manifest: { ...manifest, name, version, description: `${String(manifest.description)} (simulation copy)` }, wasm }
}

/** Per service, the live nodes whose runtime runs it (state running, at least one instance): one request per node. */
export async function runningServices (net: Network, among: SimNode[] = net.live()): Promise<Map<string, SimNode[]>> {
  const out = new Map<string, SimNode[]>()
  await Promise.all(among.map(async n => {
    const list = await n.client.runtime().catch(() => [])
    for (const s of list) {
      if (s.state === 'running' && s.instances > 0) out.set(s.service, [...(out.get(s.service) ?? []), n])
    }
  }))
  for (const nodes of out.values()) nodes.sort((a, b) => a.index - b.index)
  return out
}

/** Live nodes whose runtime runs `service`. */
export async function runners (net: Network, service: string, among: SimNode[] = net.live()): Promise<SimNode[]> {
  return (await runningServices(net, among)).get(service) ?? []
}
