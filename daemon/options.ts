import type { Config, ConfigInput, LogLevel, ProfileName } from '../lib/repo/config.js'
import { parseConfig } from '../lib/repo/config.js'

/** Command-line settings; any that are set override `config.json` for this run only. */
export interface DaemonFlags {
  listen?: string[]
  announce?: string[]
  bootstrap?: string[]
  profile?: ProfileName
  logLevel?: LogLevel
  /** `HOST:PORT` for the HTTP gateway */
  gateway?: string
  /** `HOST:PORT` for the TCP control API (bearer token) */
  api?: string
  /** `HOST:PORT` for the web console */
  ui?: string
}

const FLAG_KEYS = ['listen', 'announce', 'bootstrap', 'profile', 'logLevel', 'gateway', 'api', 'ui'] as const satisfies ReadonlyArray<keyof DaemonFlags>

/** The flags that were given, validated on their own so an error names the flag rather than the file. */
export function checkFlags (flags: DaemonFlags): Partial<Config> {
  const given: ConfigInput = {}
  for (const key of FLAG_KEYS) {
    const value = flags[key]
    if (value == null || (Array.isArray(value) && value.length === 0)) continue
    ;(given as Record<string, unknown>)[key] = value
  }
  const checked = parseConfig(given, 'command-line flags')
  return Object.fromEntries(Object.keys(given).map(k => [k, checked[k as keyof Config]])) as Partial<Config>
}

/** `config.json` with the given flags laid over it. */
export function applyFlags (config: Config, flags: Partial<Config>): Config {
  return { ...config, ...flags }
}
