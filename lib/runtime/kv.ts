import type { AbortOptions } from '@libp2p/interface'
import { Key, type Datastore } from 'interface-datastore'
import { toString } from 'uint8arrays/to-string'
import { ModuleLimitError } from '../interface/errors.js'

export const MAX_KV_KEY_BYTES = 1024
export const MAX_KV_VALUE_BYTES = 1024 * 1024

/**
 * One service's key-value namespace in the node's datastore (level in the
 * repo): keys are bytes, stored under `/noodle/kv/<service>/<base32 key>`,
 * so no key can reach another service's entries.
 */
export class KvNamespace {
  private readonly datastore: Datastore
  private readonly prefix: string

  constructor (datastore: Datastore, service: string) {
    this.datastore = datastore
    this.prefix = `/noodle/kv/${service}`
  }

  private key (key: Uint8Array): Key {
    if (key.byteLength === 0 || key.byteLength > MAX_KV_KEY_BYTES) throw new ModuleLimitError(`a kv key must be 1 to ${MAX_KV_KEY_BYTES} bytes, not ${key.byteLength}`)
    return new Key(`${this.prefix}/${toString(key, 'base32')}`)
  }

  async get (key: Uint8Array, options: AbortOptions = {}): Promise<Uint8Array | undefined> {
    const k = this.key(key)
    if (!(await this.datastore.has(k, options))) return undefined
    return await this.datastore.get(k, options)
  }

  async put (key: Uint8Array, value: Uint8Array, options: AbortOptions = {}): Promise<void> {
    if (value.byteLength > MAX_KV_VALUE_BYTES) throw new ModuleLimitError(`a kv value may be at most ${MAX_KV_VALUE_BYTES} bytes, not ${value.byteLength}`)
    await this.datastore.put(this.key(key), value, options)
  }

  async delete (key: Uint8Array, options: AbortOptions = {}): Promise<void> {
    await this.datastore.delete(this.key(key), options)
  }
}
