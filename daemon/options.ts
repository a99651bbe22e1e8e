import type { Config, ConfigInput, LogLevel, ProfileName } from '../lib/repo/config.js'
import { parseConfig } from '../lib/repo/config.js'

/** Command-line settings; any that are set override `config.json` for this run only. */
export interface DaemonFlags {
  listen?: string[]
  announce?: string[]
  bootstrap?: string[]
  profile?: ProfileName
  logLevel?: LogLevel
}

const FLAG_KEYS = ['listen', 'announce', 'bootstrap', 'profile', 'logLevel'] as const satisfies ReadonlyArray<keyof DaemonFlags>

/**
 * Merge flags over the file's config. Flags are validated on their own first
 * so an error names the flag's key rather than the file.
 */
export function applyFlags (config: Config, flags: DaemonFlags): Config {
  const given: ConfigInput = {}
  for (const key of FLAG_KEYS) {
    const value = flags[key]
    if (value == null || (Array.isArray(value) && value.length === 0)) continue
    ;(given as Record<string, unknown>)[key] = value
  }
  const checked = parseConfig(given, 'command-line flags')
  const merged: Config = { ...config }
  for (const key of Object.keys(given) as Array<keyof DaemonFlags>) {
    (merged as Record<string, unknown>)[key] = checked[key]
  }
  return merged
}
