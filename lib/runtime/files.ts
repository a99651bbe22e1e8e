import { open, realpath } from 'node:fs/promises'
import { isAbsolute, sep } from 'node:path'
import { CapabilityDeniedError, ModuleLimitError, NotFoundError } from '../interface/errors.js'

/** The largest file a module may read in one call. */
export const MAX_FILE_BYTES = 4 * 1024 * 1024

/**
 * Read a file for a module whose grant names `dirs`: only a file that,
 * once every symlink on the way is resolved, lies under one of the granted
 * directories (themselves resolved), so neither `..` nor a link leads out.
 * Read-only, regular files only, at most MAX_FILE_BYTES.
 */
export async function readGrantedFile (path: string, dirs: string[], service: string): Promise<Uint8Array> {
  if (!isAbsolute(path) || path.includes('\0')) throw new CapabilityDeniedError(`service "${service}" may read absolute paths only, not ${JSON.stringify(path)}`)
  let real: string
  try {
    real = await realpath(path)
  } catch (err: any) {
    if (err.code === 'ENOENT' || err.code === 'ENOTDIR') throw new NotFoundError(`no file ${path}`)
    throw err
  }
  const roots = await Promise.all(dirs.map(async d => await realpath(d).catch(() => undefined)))
  if (!roots.some(r => r != null && (real === r || real.startsWith(r.endsWith(sep) ? r : r + sep)))) {
    throw new CapabilityDeniedError(`service "${service}" has no capability to read ${path} (granted: ${dirs.join(', ') || 'no paths'})`)
  }
  const handle = await open(real, 'r')
  try {
    const stat = await handle.stat()
    if (!stat.isFile()) throw new CapabilityDeniedError(`${path} is not a regular file`)
    if (stat.size > MAX_FILE_BYTES) throw new ModuleLimitError(`${path} is ${stat.size} bytes; a module may read at most ${MAX_FILE_BYTES}`)
    const buffer = Buffer.alloc(stat.size)
    const { bytesRead } = await handle.read(buffer, 0, stat.size, 0)
    return new Uint8Array(buffer.buffer, buffer.byteOffset, bytesRead)
  } finally {
    await handle.close()
  }
}
