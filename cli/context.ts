import { readFileSync } from 'node:fs'
import { ApiClient } from '../lib/client/index.js'
import { repoPaths, resolveRepoPath } from '../lib/repo/paths.js'
import { table } from './printer.js'

export interface GlobalOptions {
  repo?: string
  /** the daemon's TCP control API instead of the socket */
  apiUrl?: string
  json?: boolean
}

/** What a command handler gets; handlers never touch `process`. */
export interface CommandContext {
  /** absolute repo path (`--repo`, else `$NOODLE_PATH`, else `~/.noodle`) */
  repo: string
  json: boolean
  client: ApiClient
  /** write a line to stdout */
  out: (text: string) => void
  /** write a line to stderr */
  err: (text: string) => void
  /** all of standard input; refused when the CLI has none to give */
  stdin: () => Promise<Buffer>
  /** print `value` as JSON with `--json`, else as `human(value)` */
  print: <T>(value: T, human: (value: T) => string) => void
  /** a terminal to draw progress bars on (stderr when it is one), absent otherwise */
  progress?: NodeJS.WritableStream
}

export interface Streams {
  out: (text: string) => void
  err: (text: string) => void
  env: NodeJS.ProcessEnv
  /** all of standard input (`noodled call ... -`) */
  stdin?: () => Promise<Buffer>
  /** a terminal for progress bars */
  progress?: NodeJS.WritableStream
}

/** The TCP API's bearer token: `$NOODLE_API_TOKEN`, else the repo's api.token (on the daemon's machine). */
function tokenFor (repo: string, env: NodeJS.ProcessEnv): { token?: string } {
  const fromEnv = env.NOODLE_API_TOKEN
  if (fromEnv != null && fromEnv !== '') return { token: fromEnv }
  try {
    return { token: readFileSync(repoPaths(repo).apiToken, 'utf8').trim() }
  } catch {
    return {}
  }
}

export function createContext (opts: GlobalOptions, streams: Streams): CommandContext {
  const repo = resolveRepoPath(opts.repo, streams.env)
  const json = opts.json === true
  return {
    repo,
    json,
    client: new ApiClient({ socketPath: repoPaths(repo).apiSocket, repo, ...(opts.apiUrl != null ? { url: opts.apiUrl, ...tokenFor(repo, streams.env) } : {}) }),
    out: streams.out,
    err: streams.err,
    stdin: streams.stdin ?? (async () => Buffer.alloc(0)),
    ...(streams.progress != null && !json ? { progress: streams.progress } : {}),
    print: (value, human) => {
      streams.out(json ? JSON.stringify(value, null, 2) : human(value))
    }
  }
}

export { table }
