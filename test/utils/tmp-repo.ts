import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A fresh directory for one test's repos; short, because the API socket path
 * must fit in 107 bytes.
 */
export async function tmpDir (): Promise<{ path: string, cleanup: () => Promise<void> }> {
  const path = await mkdtemp(join(tmpdir(), 'nd-'))
  return { path, cleanup: async () => { await rm(path, { recursive: true, force: true }) } }
}
