import type { Command } from 'commander'
import type { AuthView } from '../../lib/client/api-client.js'
import type { TokenSummary } from '../../lib/auth/index.js'
import type { AuditEntry, AuditVerification } from '../../lib/audit/log.js'
import { parseDurationMs } from '../duration.js'
import { table } from '../printer.js'
import type { CommandRunner } from './types.js'

/** `noodled audit verify` found the chain broken. */
export class AuditChainError extends Error {
  override name = 'AuditChainError'
}

function short (did: string): string {
  return did.length > 24 ? `${did.slice(0, 14)}…${did.slice(-6)}` : did
}

function tokenRows (list: Array<TokenSummary & { revoked: boolean }>): string[][] {
  return list.map(t => [
    t.id,
    short(t.issuer),
    short(t.audience),
    t.capabilities.map(c => `${c.can} ${c.with}`).join(', '),
    t.expiresAt == null ? 'never' : new Date(t.expiresAt).toISOString(),
    t.revoked ? 'revoked' : ''
  ])
}

function authText (v: AuthView): string {
  const head = [
    `this node: ${v.did}${v.operator ? ' (holds an operator key)' : ''}`,
    v.enforcing ? `operators: ${v.operators.join(', ')}` : 'operators: none (an open mesh: mesh operations are not checked)',
    `denied: ${v.counters.denied}, accepted: ${v.counters.accepted}, revocations: ${v.revoked.length}`
  ]
  const cols = ['ID', 'ISSUER', 'AUDIENCE', 'CAPABILITIES', 'EXPIRES', '']
  return [...head, '', 'held:', v.held.length > 0 ? table(tokenRows(v.held), cols) : '  none', '', 'issued:', v.issued.length > 0 ? table(tokenRows(v.issued), cols) : '  none'].join('\n')
}

export function authCommand (program: Command, run: CommandRunner): void {
  const auth = program.command('auth').description('capability tokens (UCAN): what this node holds and has issued; delegate, add, revoke')
  auth
    .command('ls')
    .description('tokens this node holds and has issued, the operators it trusts, revocations')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => { ctx.print(await ctx.client.auth(), authText) }))
  auth
    .command('delegate')
    .description('issue a token to a peer or did:key: from the operator key if this repo holds one, else resting on a token this node holds')
    .requiredOption('--to <peer|did>', 'the audience: a peer id or a did:key')
    .requiredOption('--can <ability>', 'service/deploy, service/remove, module/publish, node/drain, graph/write, service/*, *')
    .requiredOption('--with <resource>', 'svc:<name>, mod:<name>, node:<peer id>, kg:<graph name>, a trailing * for a prefix, ucan:* for all')
    .option('--ttl <duration>', 'how long it is valid: 30m, 24h, 30d (default: no expiry)')
    .option('--json', 'print JSON')
    .action(run(async (ctx, opts: { to: string, can: string, with: string, ttl?: string }) => {
      const out = await ctx.client.delegate({ to: opts.to, can: opts.can, with: opts.with, ...(opts.ttl != null ? { ttlMs: parseDurationMs(opts.ttl, '--ttl') } : {}) })
      ctx.print(out, o => `${o.token}\n\nid ${o.summary.id}: ${o.summary.capabilities.map(c => `${c.can} on ${c.with}`).join(', ')} for ${o.summary.audience}, ${o.summary.expiresAt == null ? 'no expiry' : `until ${new Date(o.summary.expiresAt).toISOString()}`}\ngive the token above to its holder: \`noodled auth add <token>\``)
    }))
  auth
    .command('add <token>')
    .description('take a token addressed to this node (it must lead back to an operator)')
    .option('--json', 'print JSON')
    .action(run(async (ctx, token: string) => {
      const summary = await ctx.client.addToken(token)
      ctx.print(summary, s => `added ${s.id}: ${s.capabilities.map(c => `${c.can} on ${c.with}`).join(', ')}`)
    }))
  auth
    .command('revoke <id>')
    .description('revoke a token this node issued or rests on; the revocation reaches every node')
    .option('--json', 'print JSON')
    .action(run(async (ctx, id: string) => {
      const r = await ctx.client.revoke(id)
      ctx.print(r, x => `revoked ${x.id} (signed by ${x.by})`)
    }))

  const audit = program.command('audit').description('the hash-chained audit trail of security events')
  audit
    .command('ls')
    .description('audit entries, oldest first')
    .option('--limit <n>', 'only the last n', (v: string) => Number(v))
    .option('--json', 'print JSON')
    .action(run(async (ctx, opts: { limit?: number }) => {
      const entries = await ctx.client.audit(opts.limit)
      ctx.print(entries, (list: AuditEntry[]) => list.length === 0
        ? 'no audit entries'
        : table(list.map(e => [String(e.seq), new Date(e.at).toISOString(), e.type, JSON.stringify(e.detail)]), ['SEQ', 'AT', 'TYPE', 'DETAIL']))
    }))
  audit
    .command('verify')
    .description('walk the hash chain; fails (exit 1) if any entry was edited or removed')
    .option('--json', 'print JSON')
    .action(run(async (ctx) => {
      const v = await ctx.client.auditVerify()
      ctx.print(v, (x: AuditVerification) => x.ok ? `ok: ${x.entries} entries, chain intact` : `BROKEN at entry ${x.broken?.seq ?? '?'}: ${x.broken?.reason ?? ''} (${x.entries} entries verified before it)`)
      if (!v.ok) throw new AuditChainError(`audit chain broken at entry ${v.broken?.seq ?? '?'}: ${v.broken?.reason ?? ''}`)
    }))
}
