import { randomBytes } from 'node:crypto'
import { open, readFile, stat } from 'node:fs/promises'
import { KeyFileError } from '../interface/errors.js'
import { KEY_FILE_MODE } from './constants.js'

/**
 * The TCP control API's bearer token: made (32 random bytes, base64url,
 * mode 0600) the first time a daemon serves the API over TCP, read after
 * that. Refused when others can read it, like the keys.
 */
export async function loadOrCreateApiToken (file: string): Promise<string> {
  try {
    const fh = await open(file, 'wx', KEY_FILE_MODE)
    const token = randomBytes(32).toString('base64url')
    try {
      await fh.writeFile(token + '\n')
    } finally {
      await fh.close()
    }
    return token
  } catch (err: any) {
    if (err.code !== 'EEXIST') throw new KeyFileError(`cannot create ${file}: ${err.code ?? err.message}`)
  }
  const mode = (await stat(file)).mode & 0o777
  if ((mode & 0o077) !== 0) throw new KeyFileError(`API token file ${file} has mode ${mode.toString(8)}; it must not be readable by others (chmod 600 ${file})`)
  const token = (await readFile(file, 'utf8')).trim()
  if (!/^[A-Za-z0-9_-]{32,}$/.test(token)) throw new KeyFileError(`API token file ${file} does not hold a token (32+ base64url characters)`)
  return token
}
