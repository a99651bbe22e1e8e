/**
 * Control API contract (HTTP/JSON on `$NOODLE_PATH/api.sock`). These are the
 * shapes the daemon returns and the CLI prints with `--json`. Documented for
 * other languages in docs/openapi.yaml.
 */

export const API_PREFIX = '/api/v1'

export interface IdResponse {
  peerId: string
  /** full multiaddrs including `/p2p/<peerId>`: what other machines bootstrap from */
  addrs: string[]
  agentVersion: string
  protocols: string[]
}

export interface StatusResponse {
  peerId: string
  version: string
  uptimeSec: number
  peers: number
  repo: string
  profile: string
  pid: number
}

export interface PeerEntry {
  peerId: string
  addr: string
  direction: 'inbound' | 'outbound'
  latencyMs?: number
}

export interface ConnectRequest {
  addr: string
}

export interface ConnectResponse {
  peerId: string
  addr: string
}

export interface HealthResponse {
  status: 'ok'
  uptimeSec: number
}

export interface ShutdownResponse {
  stopping: true
}

export interface ErrorBody {
  error: { name: string, message: string }
}
