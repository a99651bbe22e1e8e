import { Level } from 'level'
import { Parser } from 'n3'
import { Quadstore } from 'quadstore'
import { Engine } from 'quadstore-comunica'
import { DataFactory } from 'rdf-data-factory'
import { tmpDir } from '../utils/tmp-repo.js'
import { summarise } from './stats.js'

const RUNS = 30

/**
 * The alternative considered for the store: quadstore (RDF/JS quads on a
 * level database, durable like ours) queried by Comunica (quadstore-comunica,
 * its bundled SPARQL engine), on the same text and the same queries. Ingest:
 * N3.js parse and multiPut in batches of 1,000; queries: p50/p99 over RUNS.
 */
export async function alternativeStoreBench (text: string, queries: Record<string, string>): Promise<Record<string, unknown>> {
  const dir = await tmpDir()
  const df = new DataFactory()
  // `level` is classic-level in Node (what our own store uses); its abstract-level types are a
  // different copy from quadstore's, hence the cast
  const store = new Quadstore({ backend: new Level(`${dir.path}/quadstore`) as any, dataFactory: df })
  try {
    await store.open()
    const t0 = performance.now()
    const quads = new Parser({ format: 'N-Triples', factory: df as any }).parse(text)
    for (let i = 0; i < quads.length; i += 1000) await store.multiPut(quads.slice(i, i + 1000) as any)
    const ingestMs = performance.now() - t0
    const engine = new Engine(store)
    const out: Record<string, unknown> = {}
    for (const [name, q] of Object.entries(queries)) {
      // an AsyncIterator stream (its .d.ts says RDF/JS ResultStream, which has no toArray)
      const run = async (): Promise<unknown[]> => await ((await engine.queryBindings(q)) as unknown as { toArray: () => Promise<unknown[]> }).toArray()
      for (let i = 0; i < 3; i++) await run()
      const samples: number[] = []
      for (let i = 0; i < RUNS; i++) {
        const t = performance.now()
        await run()
        samples.push((performance.now() - t) * 1000)
      }
      const s = summarise(samples, 1)
      out[name] = { p50Us: s.p50Us, p99Us: s.p99Us }
    }
    return { engine: 'quadstore + quadstore-comunica (Comunica) on level (classic-level)', triples: quads.length, ingestMs: Math.round(ingestMs), triplesPerSec: Math.round(quads.length / (ingestMs / 1000)), queries: out }
  } finally {
    await store.close().catch(() => {})
    await dir.cleanup()
  }
}
