import { readdirSync, readFileSync, statSync } from 'node:fs'
import { dirname, join, relative, resolve, sep } from 'node:path'

/**
 * The folder-level import graph of the source tree: an edge `a -> b` when a
 * file under folder `a` imports a file under folder `b` by a relative path.
 * Folders are `lib/<subsystem>` (files at the root of `lib/` are `lib`, the
 * shared helpers), `daemon`, `cli`, and so on. Type-only imports count too: a
 * cycle of types is a cycle of ideas.
 */
export type ImportGraph = Map<string, Map<string, string[]>>

const IMPORT = /(?:from|import)\s*\(?\s*'(\.{1,2}\/[^']+)'/g

export function folderOf (root: string, file: string): string {
  const parts = relative(root, file).split(sep)
  if (parts[0] === 'lib' && parts.length > 2) return `lib/${parts[1]}`
  return parts[0] ?? ''
}

function sourceFiles (dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const path = join(dir, name)
    if (statSync(path).isDirectory()) sourceFiles(path, out)
    else if (name.endsWith('.ts') && !name.endsWith('.d.ts')) out.push(path)
  }
  return out
}

export function importGraph (root: string, dirs: string[]): ImportGraph {
  const graph: ImportGraph = new Map()
  for (const dir of dirs) {
    for (const file of sourceFiles(join(root, dir))) {
      const from = folderOf(root, file)
      if (!graph.has(from)) graph.set(from, new Map())
      for (const match of readFileSync(file, 'utf8').matchAll(IMPORT)) {
        const to = folderOf(root, resolve(dirname(file), match[1]!))
        if (to === from) continue
        const edges = graph.get(from)!
        if (!edges.has(to)) edges.set(to, [])
        edges.get(to)!.push(`${relative(root, file)} imports ${match[1]}`)
      }
    }
  }
  return graph
}

/** Every cycle's folders (Tarjan's strongly connected components of two or more folders). */
export function cycles (graph: ImportGraph): string[][] {
  let index = 0
  const indices = new Map<string, number>()
  const low = new Map<string, number>()
  const stack: string[] = []
  const onStack = new Set<string>()
  const found: string[][] = []
  const visit = (v: string): void => {
    indices.set(v, index)
    low.set(v, index++)
    stack.push(v)
    onStack.add(v)
    for (const w of graph.get(v)?.keys() ?? []) {
      if (!indices.has(w)) {
        visit(w)
        low.set(v, Math.min(low.get(v)!, low.get(w)!))
      } else if (onStack.has(w)) {
        low.set(v, Math.min(low.get(v)!, indices.get(w)!))
      }
    }
    if (low.get(v) === indices.get(v)) {
      const component: string[] = []
      let w: string
      do {
        w = stack.pop()!
        onStack.delete(w)
        component.push(w)
      } while (w !== v)
      if (component.length > 1) found.push(component.sort())
    }
  }
  for (const v of graph.keys()) if (!indices.has(v)) visit(v)
  return found
}
