import { resolve, join } from 'node:path'
import { API_SOCKET, API_TOKEN_FILE, BLOCKS_DIR, CONFIG_FILE, DATASTORE_DIR, DEFAULT_REPO_PATH, KEY_FILE, KNOWLEDGE_DIR, OPERATOR_KEY_FILE, PENDING_TOKENS_FILE, PID_FILE, REPO_ENV, SWARM_KEY_FILE } from './constants.js'

export interface RepoPaths {
  root: string
  config: string
  key: string
  /** a private mesh's swarm key (absent: public) */
  swarmKey: string
  /** an operator key (capability tokens' root of trust), if this node's host holds one */
  operatorKey: string
  pendingTokens: string
  datastore: string
  /** module blocks (blockstore-level) */
  blocks: string
  /** knowledge graphs (their own level database) */
  knowledge: string
  apiSocket: string
  apiToken: string
  pidFile: string
}

/** `--repo` wins over `$NOODLE_PATH`, which wins over `~/.noodle`. Always absolute. */
export function resolveRepoPath (flag?: string, env: NodeJS.ProcessEnv = process.env): string {
  const chosen = flag ?? env[REPO_ENV]
  return resolve(chosen != null && chosen !== '' ? chosen : DEFAULT_REPO_PATH)
}

export function repoPaths (root: string): RepoPaths {
  return {
    root,
    config: join(root, CONFIG_FILE),
    key: join(root, KEY_FILE),
    swarmKey: join(root, SWARM_KEY_FILE),
    operatorKey: join(root, OPERATOR_KEY_FILE),
    pendingTokens: join(root, PENDING_TOKENS_FILE),
    datastore: join(root, DATASTORE_DIR),
    blocks: join(root, BLOCKS_DIR),
    knowledge: join(root, KNOWLEDGE_DIR),
    apiSocket: join(root, API_SOCKET),
    apiToken: join(root, API_TOKEN_FILE),
    pidFile: join(root, PID_FILE)
  }
}
