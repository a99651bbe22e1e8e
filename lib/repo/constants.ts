import { homedir } from 'node:os'
import { join } from 'node:path'

/** Used when neither `--repo` nor `$NOODLE_PATH` is given. */
export const DEFAULT_REPO_PATH = join(homedir(), '.noodle')
export const REPO_ENV = 'NOODLE_PATH'

export const CONFIG_FILE = 'config.json'
export const KEY_FILE = 'identity.key'
/** a private mesh's pre-shared key (absent: a public mesh) */
export const SWARM_KEY_FILE = 'swarm.key'
/** an operator's key (a root of trust for capability tokens), on the machine that made the mesh */
export const OPERATOR_KEY_FILE = 'operator.key'
/** tokens from an invite, taken into the datastore at the next start */
export const PENDING_TOKENS_FILE = 'pending-tokens'
export const DATASTORE_DIR = 'datastore'
/** module blocks, a LevelDB of their own */
export const BLOCKS_DIR = 'blocks'
/** knowledge graphs: a level database of their own (lib/knowledge/graph-store.ts) */
export const KNOWLEDGE_DIR = 'knowledge'
export const API_SOCKET = 'api.sock'
/** the TCP control API's bearer token (made at the first start with --api), mode 0600 */
export const API_TOKEN_FILE = 'api.token'
export const PID_FILE = 'noodled.pid'

/** Key files are refused when group or others can read them (like ssh). */
export const KEY_FILE_MODE = 0o600
export const REPO_DIR_MODE = 0o700

export const CONFIG_VERSION = 1
export const DEFAULT_LISTEN = ['/ip4/0.0.0.0/tcp/4010']

/** sun_path is 108 bytes on Linux including the NUL terminator. */
export const MAX_SOCKET_PATH = 107

export const PROFILES = ['lan', 'wan', 'local'] as const
export type ProfileName = typeof PROFILES[number]

export const LOG_LEVELS = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const
export type LogLevel = typeof LOG_LEVELS[number]

/** Where libp2p's peer store keeps its records in the repo datastore. */
export const PEER_STORE_PREFIX = '/peers/'
