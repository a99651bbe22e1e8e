import semver from 'semver'
import { DependencyError, ModuleNotFoundError } from '../interface/errors.js'
import { MODULE_NAME } from './constants.js'

/** One published version, as the resolver needs it. */
export interface ModuleVersion {
  name: string
  version: string
  /** root CID of the module version */
  cid: string
  /** name -> semver range */
  dependencies: Record<string, string>
}

/** Where versions come from: the replicated module catalog, or a fixture. */
export interface VersionSource {
  versions: (name: string) => ModuleVersion[]
}

/**
 * The outcome of resolving `name@range`: one version per module name, in
 * dependency order (every module after the modules it imports), and the
 * lockfile `name@version -> cid`. The same catalog gives the same result on
 * every node: candidates are compared by semver only, and keys are sorted.
 */
export interface Resolution {
  root: string
  /** `name@version`, dependencies first, the root last */
  order: string[]
  lock: Record<string, string>
  /** `name@version` -> the `name@version`s it depends on */
  graph: Record<string, string[]>
}

export interface ResolveOptions {
  /** let prereleases (1.0.0-rc.1) satisfy ranges; off unless asked, as npm does */
  includePrerelease?: boolean
}

/** `name@range` (the range may be empty: any version). */
export function parseModuleRef (ref: string): { name: string, range: string } {
  const at = ref.indexOf('@', 1)
  const name = at < 0 ? ref : ref.slice(0, at)
  const range = at < 0 ? '*' : (ref.slice(at + 1) === '' ? '*' : ref.slice(at + 1))
  if (!MODULE_NAME.test(name)) throw new DependencyError(`"${ref}" is not name@range: the name must be lower-case letters, digits and . _ -`)
  if (semver.validRange(range) == null) throw new DependencyError(`"${ref}": "${range}" is not a semver range`)
  return { name, range }
}

interface Constraint {
  range: string
  /** the chain of modules that asks for it, root first: `a@1.0.0 > b@2.1.0`; '' for the reference resolved */
  path: string
}

/**
 * Resolve `name@range` and its dependencies, transitively. One version per
 * module name (a module imports another by name, so two versions of one
 * name could not both be linked into it): the highest version that
 * satisfies every range asking for that name, recomputed until nothing
 * changes (a higher pick can bring different dependencies). Errors name the
 * path: a range nothing satisfies, ranges no single version satisfies
 * together, a cycle.
 */
export function resolveModules (ref: string, source: VersionSource, options: ResolveOptions = {}): Resolution {
  const { name: rootName, range: rootRange } = parseModuleRef(ref)
  const cache = new Map<string, ModuleVersion[]>()
  const versionsOf = (name: string): ModuleVersion[] => {
    let list = cache.get(name)
    if (list == null) {
      list = source.versions(name).filter(v => semver.valid(v.version) === v.version).sort((a, b) => semver.rcompare(a.version, b.version))
      cache.set(name, list)
    }
    return list
  }
  const satisfies = (v: string, range: string): boolean => semver.satisfies(v, range, { includePrerelease: options.includePrerelease === true })

  let chosen = new Map<string, ModuleVersion>()
  for (let round = 0; round < 100; round++) {
    // what is asked for, walking from the root through the versions chosen so far
    const constraints = new Map<string, Constraint[]>()
    const ask = (name: string, c: Constraint): void => {
      const list = constraints.get(name) ?? []
      list.push(c)
      constraints.set(name, list)
    }
    ask(rootName, { range: rootRange, path: '' })
    // a name not chosen yet gets a tentative pick from what this walk has asked of it so far, so
    // the walk goes on below it: one round discovers a whole chain, and rounds only settle changes
    const tentative = new Map<string, ModuleVersion>()
    const current = (name: string): ModuleVersion | undefined => {
      const v = chosen.get(name) ?? tentative.get(name)
      if (v != null) return v
      const pick = versionsOf(name).find(c => (constraints.get(name) ?? []).every(k => satisfies(c.version, k.range)))
      if (pick != null) tentative.set(name, pick)
      return pick
    }
    const walked = new Set<string>()
    const walk = (name: string, path: string): void => {
      const v = current(name)
      if (v == null || walked.has(name)) return
      walked.add(name)
      const here = `${path} > ${name}@${v.version}`
      for (const dep of Object.keys(v.dependencies).sort()) {
        ask(dep, { range: v.dependencies[dep]!, path: here })
        walk(dep, here)
      }
    }
    const rootChoice = current(rootName)
    if (rootChoice != null) {
      walked.add(rootName)
      for (const dep of Object.keys(rootChoice.dependencies).sort()) {
        const here = `${rootName}@${rootChoice.version}`
        ask(dep, { range: rootChoice.dependencies[dep]!, path: here })
        walk(dep, here)
      }
    }

    const next = new Map<string, ModuleVersion>()
    for (const [name, asks] of constraints) {
      const all = versionsOf(name)
      const neededBy = (c: Constraint): string => c.path === '' ? '' : ` (needed by ${c.path})`
      if (all.length === 0) throw new ModuleNotFoundError(`no module named "${name}"${neededBy(asks[0]!)}`)
      const pick = all.find(v => asks.every(c => satisfies(v.version, c.range)))
      if (pick == null) {
        const alone = asks.find(c => !all.some(v => satisfies(v.version, c.range)))
        if (alone != null) {
          throw new ModuleNotFoundError(`no version of "${name}" satisfies "${alone.range}"${neededBy(alone)}; published: ${all.map(v => v.version).join(', ')}`)
        }
        throw new DependencyError(`no single version of "${name}" satisfies every range asking for it: ${asks.map(c => `"${c.range}" (${c.path === '' ? ref : c.path})`).join(', ')}; published: ${all.map(v => v.version).join(', ')}`)
      }
      next.set(name, pick)
    }
    if (next.size === chosen.size && [...next].every(([n, v]) => chosen.get(n) === v)) return finish(rootName, chosen)
    chosen = next
  }
  throw new DependencyError(`resolving "${ref}" did not settle after 100 rounds`)
}

/** Order the chosen versions dependencies-first; a cycle is an error that prints it. */
function finish (rootName: string, chosen: Map<string, ModuleVersion>): Resolution {
  const id = (v: ModuleVersion): string => `${v.name}@${v.version}`
  const order: string[] = []
  const state = new Map<string, 'visiting' | 'done'>()
  const stack: string[] = []
  const visit = (name: string): void => {
    const v = chosen.get(name)!
    const s = state.get(name)
    if (s === 'done') return
    if (s === 'visiting') {
      const from = stack.indexOf(id(v))
      throw new DependencyError(`dependency cycle: ${[...stack.slice(from), id(v)].join(' > ')}`)
    }
    state.set(name, 'visiting')
    stack.push(id(v))
    for (const dep of Object.keys(v.dependencies).sort()) visit(dep)
    stack.pop()
    state.set(name, 'done')
    order.push(id(v))
  }
  visit(rootName)
  const lock: Record<string, string> = {}
  const graph: Record<string, string[]> = {}
  for (const key of [...order].sort()) {
    const v = [...chosen.values()].find(c => id(c) === key)!
    lock[key] = v.cid
    graph[key] = Object.keys(v.dependencies).sort().map(d => id(chosen.get(d)!))
  }
  return { root: id(chosen.get(rootName)!), order, lock, graph }
}
