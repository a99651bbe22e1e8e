import { readFile } from 'node:fs/promises'
import { expect } from 'chai'
import yaml from 'js-yaml'
import { apiRoutes, type ApiTargets } from '../../daemon/api/all-routes.js'

const DOC = new URL('../../../docs/openapi.yaml', import.meta.url)
const METHODS = ['get', 'post', 'put', 'delete', 'patch']

/** `METHOD /path` of every operation in the document, path parameters as `{...}`. */
async function documented (): Promise<string[]> {
  const doc = yaml.load(await readFile(DOC, 'utf8')) as { paths: Record<string, Record<string, unknown>> }
  return Object.entries(doc.paths).flatMap(([path, item]) => Object.keys(item).filter(m => METHODS.includes(m)).map(m => `${m.toUpperCase()} ${path}`))
}

/** Does route `METHOD /a/b/*` (or an exact one) serve operation `METHOD /a/b/{x}/c`? */
function serves (route: string, operation: string): boolean {
  if (route === operation) return true
  if (!route.endsWith('/*')) return false
  const prefix = route.slice(0, -1)
  return operation.startsWith(prefix) && operation.slice(prefix.length).startsWith('{')
}

describe('docs/openapi.yaml and the routes the daemon serves', () => {
  it('documents every route, and every documented operation is a route', async () => {
    // the route table is built from the same factories the daemon uses; no target is called
    const routes = Object.keys(apiRoutes(new Proxy({}, { get: () => ({}) }) as unknown as ApiTargets))
    const operations = await documented()
    const undocumented = routes.filter(r => !operations.some(o => serves(r, o)))
    const unserved = operations.filter(o => !routes.some(r => serves(r, o)))
    expect(undocumented, 'routes missing from docs/openapi.yaml').to.deep.equal([])
    expect(unserved, 'documented operations no route serves').to.deep.equal([])
    expect(routes.length).to.be.greaterThan(40)
  })
})
