import type { z } from 'zod'

/** `['requirements', 'labels', 0]` -> `requirements.labels[0]` */
export function keyPath (path: ReadonlyArray<PropertyKey>): string {
  let out = ''
  for (const part of path) {
    out += typeof part === 'number' ? `[${part}]` : (out === '' ? String(part) : `.${String(part)}`)
  }
  return out
}

/**
 * The first problem zod found, as `{ key, message }` where `key` names the
 * field (`''` for the value itself) and an unknown key is named as such.
 */
export function firstIssue (error: z.ZodError): { key: string, message: string } {
  const issue = error.issues[0]
  if (issue == null) return { key: '', message: 'invalid' }
  if (issue.code === 'unrecognized_keys') {
    const prefix = keyPath(issue.path)
    const key = prefix === '' ? String(issue.keys[0]) : `${prefix}.${String(issue.keys[0])}`
    return { key, message: `unknown key "${key}"` }
  }
  const key = keyPath(issue.path)
  return { key, message: key === '' ? issue.message : `"${key}": ${issue.message}` }
}
