import { capability, Failure, Schema, ok, fail } from '@ucanto/validator'
import { InvalidTokenError } from '../interface/errors.js'

/**
 * What a capability token can allow. Each mesh-level operation needs one
 * ability on one resource:
 *
 * - `service/deploy` on `svc:<name>`: declare or replace a service (an
 *   update of its module version and a change of replicas are deploys of the
 *   changed spec);
 * - `service/remove` on `svc:<name>`;
 * - `module/publish` on `mod:<name>`;
 * - `node/drain` on `node:<peer id>`;
 * - `graph/write` on `kg:<name>`: write a version of one's own knowledge
 *   graph of that name;
 * - `auth/delegate` on any resource: hand on what one holds (always allowed
 *   within one's own capabilities; listed so a token can say so).
 *
 * Delegations may use `*` and `service/*` for abilities (UCAN's own rules)
 * and a trailing `*` in resources (`svc:web*`, `svc:*`); `ucan:*` is every
 * resource (UCAN's own spelling; a resource must be a URI).
 */
export const ALL = 'ucan:*'
export const ABILITIES = ['service/deploy', 'service/remove', 'module/publish', 'node/drain', 'graph/write'] as const
export type Ability = typeof ABILITIES[number]

const RESOURCE = /^(ucan:\*|(svc|mod|node|kg):[A-Za-z0-9._-]{0,128}\*?)$/
const ABILITY_PATTERN = /^(\*|[a-z]+\/\*|[a-z]+\/[a-z]+)$/

/** Does a delegated resource pattern cover a claimed resource? */
export function resourceCovers (pattern: string, resource: string): boolean {
  if (pattern === ALL) return true
  return pattern.endsWith('*') ? resource.startsWith(pattern.slice(0, -1)) : pattern === resource
}

/** Does a delegated ability (maybe `*` or `x/*`) cover a claimed one? */
export function abilityCovers (pattern: string, ability: string): boolean {
  if (pattern === '*' || pattern === ability) return true
  return pattern.endsWith('/*') && ability.startsWith(pattern.slice(0, -1))
}

export function checkResource (value: string): string {
  if (!RESOURCE.test(value)) throw new InvalidTokenError(`not a resource: ${JSON.stringify(value)} (svc:<name>, mod:<name>, node:<peer id>, kg:<graph name>, with an optional trailing *, or ucan:* for all)`)
  return value
}

export function checkAbility (value: string): string {
  if (!ABILITY_PATTERN.test(value)) throw new InvalidTokenError(`not an ability: ${JSON.stringify(value)} (e.g. service/deploy, service/*, *)`)
  const known = ABILITIES.some(a => abilityCovers(value, a))
  if (!known) throw new InvalidTokenError(`unknown ability ${JSON.stringify(value)}; known: ${ABILITIES.join(', ')} (and service/*, module/*, node/*, graph/*, *)`)
  return value
}

const resource = Schema.string().refine({
  read: (value: string) => RESOURCE.test(value) ? { ok: value } : { error: new Failure(`not a resource: ${value}`) }
})

/** The invocation binds the exact bytes of the write it authorises. */
const caveats = Schema.struct({ digest: Schema.string().optional() })

function parser<A extends Ability> (can: A) {
  return capability({
    can,
    with: resource as any,
    nb: caveats,
    derives: (claimed: { with: string, nb: { digest?: string } }, delegated: { with: string, nb: { digest?: string } }) => {
      if (!resourceCovers(delegated.with, claimed.with)) return fail(`${claimed.with} is not within ${delegated.with}`)
      if (delegated.nb.digest != null && delegated.nb.digest !== claimed.nb.digest) return fail('the delegation is for another write')
      return ok({})
    }
  })
}

export const PARSERS = Object.fromEntries(ABILITIES.map(a => [a, parser(a)])) as Record<Ability, ReturnType<typeof parser>>
