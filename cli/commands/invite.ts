import { readFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { repoPaths } from '../../lib/repo/paths.js'
import { InvalidRequestError } from '../../lib/interface/errors.js'
import { parseDurationMs } from '../duration.js'
import type { CommandRunner } from './types.js'

export function inviteCommand (program: Command, run: CommandRunner): void {
  const invite = program.command('invite').description('let another machine join this mesh')
  invite.command('create')
    .description('print one string holding this daemon\'s addresses and, in a private mesh, its swarm key; give it to `noodled init --join` on the new machine (it is a secret until it expires)')
    .option('--ttl <duration>', 'how long it may be used: 30m, 24h, ...', '24h')
    .option('--can <ability>', 'also give the new node a capability token: service/deploy, module/publish, graph/write, service/*, ... (with --with)')
    .option('--with <resource>', 'the resource of that capability: svc:web*, mod:*, kg:notes*, ucan:* ...')
    .option('--json', 'print JSON')
    .action(run(async (ctx, opts: { ttl: string, can?: string, with?: string }) => {
      // loaded when the command runs: keys, DIDs and the invite codec cost every other command their start time
      const [{ encodeInvite }, { generateKeyPair, privateKeyToProtobuf }, { didFromPublicKey }] = await Promise.all([
        import('../../lib/repo/invite.js'), import('@libp2p/crypto/keys'), import('../../lib/auth/did.js')
      ])
      const ttlMs = parseDurationMs(opts.ttl, '--ttl')
      if ((opts.can == null) !== (opts.with == null)) throw new InvalidRequestError('--can and --with go together')
      const { addrs } = await ctx.client.id()
      let swarmKey: string | undefined
      try {
        swarmKey = (await readFile(repoPaths(ctx.repo).swarmKey)).toString('base64')
      } catch (err: any) {
        if (err.code !== 'ENOENT') throw err
      }
      const auth = await ctx.client.auth()
      let grant: { key: string, token: string } | undefined
      if (opts.can != null && opts.with != null) {
        // a one-off key stands in for the node that does not exist yet; its token lasts as long as the invite
        const key = await generateKeyPair('Ed25519')
        const { token } = await ctx.client.delegate({ to: didFromPublicKey(key.publicKey.raw), can: opts.can, with: opts.with, ttlMs })
        grant = { key: Buffer.from(privateKeyToProtobuf(key)).toString('base64'), token }
      }
      const expires = Date.now() + ttlMs
      const text = encodeInvite({ bootstrap: addrs, ...(swarmKey != null ? { swarmKey } : {}), ...(auth.operators.length > 0 ? { operators: auth.operators } : {}), ...(grant != null ? { grant } : {}), expires })
      ctx.print({ invite: text, expires: new Date(expires).toISOString(), private: swarmKey != null, capability: grant != null }, v => v.invite)
    }))
}
