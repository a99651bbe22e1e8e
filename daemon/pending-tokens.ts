import { readFile, rm } from 'node:fs/promises'
import type { Auth } from '../lib/auth/index.js'
import type { Logger } from './logger.js'

/**
 * Capabilities an invite brought (`init --join`), kept in the repo until the
 * node has an authority to take them: redeemed at the first start, then the
 * file is removed. One that cannot be used is logged and dropped (the
 * invite may have expired meanwhile); the daemon starts either way.
 */
export async function redeemPendingTokens (file: string, auth: Pick<Auth, 'redeem'>, log: Logger): Promise<void> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err: any) {
    if (err.code === 'ENOENT') return
    throw err
  }
  for (const line of text.split('\n').filter(l => l.trim() !== '')) {
    try {
      const summary = await auth.redeem(JSON.parse(line))
      log.info({ token: summary.id, capabilities: summary.capabilities }, 'took the capability the invite brought')
    } catch (err: any) {
      log.warn({ err: err.message }, 'the capability the invite brought cannot be used')
    }
  }
  await rm(file, { force: true })
}
