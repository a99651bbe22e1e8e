import { access, chmod, mkdir, open, writeFile } from 'node:fs/promises'
import { didFromPublicKey } from '../auth/did.js'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { RepoExistsError } from '../interface/errors.js'
import { parseConfig, type Config, type ConfigInput } from './config.js'
import { REPO_DIR_MODE } from './constants.js'
import { createKey } from './keys.js'
import { repoPaths } from './paths.js'
import { checkSwarmKey, createSwarmKey, writeSwarmKey } from './swarm-key.js'

export interface InitResult {
  peerId: string
  config: Config
  /** the swarm key's path, for a private mesh */
  swarmKey?: string
  /** the operator's did:key, when this repo made one */
  operator?: string
}

export async function isInitialized (root: string): Promise<boolean> {
  try {
    await access(repoPaths(root).config)
    return true
  } catch {
    return false
  }
}

/**
 * Create a repo: directory (0700), `config.json` and an Ed25519 identity
 * (0600). Refuses a directory that already holds a config, so an identity is
 * never replaced by accident.
 */
export async function initRepo (root: string, input: ConfigInput = {}, options: { private?: boolean, swarmKey?: Uint8Array, operator?: boolean, tokens?: string[] } = {}): Promise<InitResult> {
  const paths = repoPaths(root)
  // validate before creating anything
  let config = parseConfig(input, 'command line')
  if (options.swarmKey != null) checkSwarmKey(options.swarmKey, 'the invite\'s swarm key')
  if (await isInitialized(root)) {
    throw new RepoExistsError(`repo ${root} is already initialised (${paths.config} exists)`)
  }
  await mkdir(root, { recursive: true, mode: REPO_DIR_MODE })
  await chmod(root, REPO_DIR_MODE)
  const key = await createKey(paths.key)
  // a private mesh: only daemons holding this file can connect to this one (a new key, or the one of the mesh joined)
  if (options.swarmKey != null) await writeSwarmKey(paths.swarmKey, options.swarmKey)
  else if (options.private === true) await createSwarmKey(paths.swarmKey)
  // a new secure mesh: this node's host holds its operator key, the root of every capability token
  let operator: string | undefined
  if (options.operator === true) {
    const operatorKey = await createKey(paths.operatorKey)
    operator = didFromPublicKey(operatorKey.publicKey.raw)
    config = { ...config, auth: { operators: [...new Set([operator, ...config.auth.operators])] } }
  }
  if (options.tokens != null && options.tokens.length > 0) await writeFile(paths.pendingTokens, options.tokens.join('\n') + '\n', { mode: 0o600 })
  // write the config last: its presence is what marks the repo initialised
  const fh = await open(paths.config, 'wx', 0o644)
  try {
    await fh.writeFile(JSON.stringify(config, null, 2) + '\n')
  } finally {
    await fh.close()
  }
  return { peerId: peerIdFromPrivateKey(key).toString(), config, ...(options.private === true || options.swarmKey != null ? { swarmKey: paths.swarmKey } : {}), ...(operator != null ? { operator } : {}) }
}
