import type { ChildProcess } from 'node:child_process'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { noise } from '@chainsafe/libp2p-noise'
import { tcp } from '@libp2p/tcp'
import { yamux } from '@libp2p/yamux'
import type { Stream } from '@libp2p/interface'
import { multiaddr } from '@multiformats/multiaddr'
import { createLibp2p } from 'libp2p'
import { CID } from 'multiformats/cid'
import type { PublishedModuleView } from '../../lib/interface/api.js'
import { createNode } from '../../lib/node/index.js'
import { moduleDir, paddedWasm } from '../modules/fixtures.js'
import { DaemonProcess, killAll } from '../utils/daemon-process.js'
import { tmpDir } from '../utils/tmp-repo.js'
import { waitFor } from '../utils/wait-for.js'
import { spawnPrinting } from './child.js'

const SIZES = [100 * 1024, 1024 * 1024, 10 * 1024 * 1024]
const REPEATS: Record<number, number> = { [SIZES[0]!]: 30, [SIZES[1]!]: 20, [SIZES[2]!]: 8 }
const WARMUP = 2
/** Cold fetches per size: each restarts the provider daemon and starts a new fetching node. */
const COLD_REPEATS: Record<number, number> = { [SIZES[0]!]: 6, [SIZES[1]!]: 6, [SIZES[2]!]: 4 }
const BYTES_PROTOCOL = '/bench/bytes/1.0.0'

interface Timing {
  n: number
  p50Ms: number
  meanMs: number
  minMs: number
  maxMs: number
  /** MB/s (10^6 bytes) at the median time */
  mbPerSec: number
}

/** Ask the bytes server (fixtures/libp2p-bytes-server) for `bytes` on `stream` and read them all. */
async function fetchBytes (stream: Stream, bytes: number): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    let n = 0
    stream.addEventListener('message', (evt) => { n += evt.data.byteLength; if (n >= bytes) resolve() })
    stream.addEventListener('close', (evt) => { if (n < bytes) reject(evt.error ?? new Error(`closed after ${n} bytes`)) })
    const req = new Uint8Array(4)
    new DataView(req.buffer).setUint32(0, bytes)
    stream.send(req)
  })
}

function timing (samplesMs: number[], bytes: number): Timing {
  const s = [...samplesMs].sort((a, b) => a - b)
  const r = (x: number): number => Math.round(x * 100) / 100
  const p50 = s[Math.floor(s.length / 2)]!
  return { n: s.length, p50Ms: r(p50), meanMs: r(s.reduce((a, b) => a + b, 0) / s.length), minMs: r(s[0]!), maxMs: r(s.at(-1)!), mbPerSec: r(bytes / 1e6 / (p50 / 1000)) }
}

/**
 * `npm run bench:modules`: a daemon process publishes modules of 100 KB,
 * 1 MB and 10 MB, and a noodled node in this process (the same code as a
 * daemon) fetches each, which includes the DHT provider lookup, every
 * block's verification, storing, and the check of the whole binary.
 *
 * Warm: the module is not in the fetcher's store (unpinned and collected
 * between runs), but the same node fetches again and again from the same
 * provider, so block streams are open and the provider's caches hot.
 * Baseline: the same bytes over one raw Noise-encrypted libp2p stream
 * (vanilla libp2p, TCP + noise + yamux, connection already open) from a
 * server in another process, without hashing or storing.
 *
 * Cold: before each fetch the provider daemon is restarted (a new process:
 * nothing cached but the OS's page cache) and a new node starts, connects
 * to it and fetches: no stream open, no provider record cached. Baseline:
 * a new vanilla libp2p node dials the raw server and reads the same bytes
 * (the connection's handshakes included).
 */
export async function modulesBench (): Promise<Record<string, unknown>> {
  const dir = await tmpDir()
  const daemons: DaemonProcess[] = []
  const children: ChildProcess[] = []
  const closers: Array<() => Promise<void>> = []
  try {
    const provider = await DaemonProcess.start(join(dir.path, 'provider'), ['--log-level', 'warn'])
    daemons.push(provider)
    const boot = (await provider.id()).addrs[0]!
    const published: PublishedModuleView[] = []
    for (const [i, size] of SIZES.entries()) {
      const path = await moduleDir(join(dir.path, `m${i}`), { name: `bench-${size}`, version: '1.0.0', entry: 'm.wasm', exports: ['echo'] }, paddedWasm(size, i + 1))
      const res = await provider.cli('module', 'publish', path, '--json')
      if (res.code !== 0) throw new Error(`publish: ${res.stderr}`)
      published.push(JSON.parse(res.stdout) as PublishedModuleView)
    }

    const client = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], profile: 'local', bootstrap: [boot] })
    closers.push(async () => client.stop())
    const modules = client.services.modules
    await waitFor(async () => (await modules.providers(published[0]!.cid, { signal: AbortSignal.timeout(5_000) })).length > 0, { timeoutMs: 60_000, what: 'the bench node to find the provider' })

    const libp2pServer = await spawnPrinting([fileURLToPath(new URL('./fixtures/libp2p-bytes-server.js', import.meta.url))])
    children.push(libp2pServer.proc)
    const vanilla = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
    closers.push(async () => vanilla.stop())
    const serverAddr = multiaddr(libp2pServer.line)
    await vanilla.dial(serverAddr)

    const coldFetch = async (cid: string): Promise<number> => {
      const t0 = performance.now()
      const result = await modules.fetch(cid)
      const ms = performance.now() - t0
      if (result.modules[0]!.fetchedBlocks === 0) throw new Error('not a cold fetch')
      // outside the timing: the announcement of the new copy (a DHT walk), the unpin and gc
      await modules.settled()
      await modules.unpin(cid)
      await modules.gc()
      if (await modules.store.has(CID.parse(cid))) throw new Error('gc left the root')
      return ms
    }
    const rawStream = async (bytes: number): Promise<number> => {
      const t0 = performance.now()
      const stream = await vanilla.dialProtocol(serverAddr, BYTES_PROTOCOL)
      await fetchBytes(stream, bytes)
      const ms = performance.now() - t0
      await stream.close().catch(() => {})
      return ms
    }

    // cold: a restarted provider and a new fetching node each time
    let providerDaemon = provider
    const coldRun = async (cid: string): Promise<number> => {
      await providerDaemon.kill('SIGTERM')
      daemons.splice(daemons.indexOf(providerDaemon), 1)
      providerDaemon = await DaemonProcess.start(join(dir.path, 'provider'), ['--log-level', 'warn'])
      daemons.push(providerDaemon)
      const addr = (await providerDaemon.id()).addrs[0]!
      const fresh = await createNode({ listen: ['/ip4/127.0.0.1/tcp/0'], profile: 'local', bootstrap: [addr] })
      try {
        // a mesh member is connected to its peers; it has opened no stream for blocks yet
        await waitFor(() => fresh.getConnections().length > 0, { timeoutMs: 30_000, what: 'the new node to connect to the restarted provider' })
        const t0 = performance.now()
        const result = await fresh.services.modules.fetch(cid)
        const ms = performance.now() - t0
        if (result.modules[0]!.fetchedBlocks === 0) throw new Error('not a cold fetch')
        return ms
      } finally {
        await fresh.stop()
      }
    }
    const coldRawStream = async (bytes: number): Promise<number> => {
      const node = await createLibp2p({ transports: [tcp()], connectionEncrypters: [noise()], streamMuxers: [yamux()] })
      try {
        const t0 = performance.now()
        const stream = await node.dialProtocol(serverAddr, BYTES_PROTOCOL)
        await fetchBytes(stream, bytes)
        return performance.now() - t0
      } finally {
        await node.stop()
      }
    }

    const results: Array<{ sizeBytes: number, cid: string, coldFetch: Timing, baselineRawNoiseStream: Timing, throughputRatio: number, trulyColdFetch?: Timing, baselineNewRawNoiseConnection?: Timing, coldThroughputRatio?: number }> = []
    for (const [i, size] of SIZES.entries()) {
      const cid = published[i]!.cid
      const repeats = REPEATS[size]!
      const fetchMs: number[] = []
      const rawMs: number[] = []
      // interleaved, and in alternating order, so both see the same machine (level compacts
      // in the background after a fetch's writes and gc's deletes)
      for (let r = 0; r < WARMUP + repeats; r++) {
        let f: number
        let b: number
        if (r % 2 === 0) {
          f = await coldFetch(cid)
          b = await rawStream(size)
        } else {
          b = await rawStream(size)
          f = await coldFetch(cid)
        }
        if (r < WARMUP) continue
        fetchMs.push(f)
        rawMs.push(b)
      }
      const fetch = timing(fetchMs, size)
      const baseline = timing(rawMs, size)
      results.push({
        sizeBytes: size,
        cid,
        // named "cold" before the cold series existed: not in the store, everything else warm
        coldFetch: fetch,
        baselineRawNoiseStream: baseline,
        throughputRatio: Math.round(fetch.mbPerSec / baseline.mbPerSec * 100) / 100
      })
    }
    // after the warm series: a restart moves the provider to a new port, which the warm node does not know
    for (const [i, size] of SIZES.entries()) {
      const coldMs: number[] = []
      const coldRawMs: number[] = []
      for (let r = 0; r < COLD_REPEATS[size]!; r++) {
        coldMs.push(await coldRun(published[i]!.cid))
        coldRawMs.push(await coldRawStream(size))
      }
      const cold = timing(coldMs, size)
      const coldBaseline = timing(coldRawMs, size)
      Object.assign(results[i]!, { trulyColdFetch: cold, baselineNewRawNoiseConnection: coldBaseline, coldThroughputRatio: Math.round(cold.mbPerSec / coldBaseline.mbPerSec * 100) / 100 })
    }
    const oneMb = results.find(r => r.sizeBytes === 1024 * 1024)!
    return {
      name: 'modules',
      results,
      goals: {
        oneMbColdFetchP50Ms: { value: oneMb.trulyColdFetch?.p50Ms, goal: '<= 100 ms (provider restarted, new node)', met: (oneMb.trulyColdFetch?.p50Ms ?? Infinity) <= 100 },
        oneMbWarmFetchP50Ms: { value: oneMb.coldFetch.p50Ms, goal: '<= 100 ms (not in the store, streams open)', met: oneMb.coldFetch.p50Ms <= 100 },
        throughputRatioAtLeastHalf: { value: results.map(r => r.throughputRatio), goal: '>= 0.5 at every size, warm, over one open raw Noise stream', met: results.every(r => r.throughputRatio >= 0.5) }
      }
    }
  } finally {
    for (const close of closers.reverse()) await close().catch(() => {})
    for (const c of children) c.kill('SIGKILL')
    await killAll(daemons)
    await dir.cleanup()
  }
}
