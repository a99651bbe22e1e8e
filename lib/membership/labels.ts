import type { AbortOptions } from '@libp2p/interface'
import { Key, type Datastore } from 'interface-datastore'
import { LABEL_KEY, MAX_LABEL_VALUE, MAX_LABELS } from '../constants.js'
import { InvalidLabelError } from './errors.js'

const LABELS_KEY = new Key('/noodle/membership/labels')

/** Persisted runtime label changes, layered over the config's labels. */
interface LabelOverlay { set: Record<string, string>, removed: string[] }

/**
 * This node's labels: those from its config, with the changes made at run
 * time (`noodled label set/rm`) layered over them and persisted, so a
 * restart keeps them and a config edit still shows through where no change
 * was made.
 */
export class Labels {
  private readonly datastore: Datastore
  private readonly configured: Record<string, string>
  private overlay: LabelOverlay = { set: {}, removed: [] }

  constructor (datastore: Datastore, configured: Record<string, string> = {}) {
    this.datastore = datastore
    this.configured = configured
  }

  async load (options: AbortOptions = {}): Promise<void> {
    try {
      this.overlay = JSON.parse(new TextDecoder().decode(await this.datastore.get(LABELS_KEY, options))) as LabelOverlay
    } catch {
      this.overlay = { set: {}, removed: [] }
    }
  }

  current (): Record<string, string> {
    const labels: Record<string, string> = {}
    for (const [k, v] of Object.entries(this.configured)) {
      if (!this.overlay.removed.includes(k)) labels[k] = v
    }
    return { ...labels, ...this.overlay.set }
  }

  async set (key: string, value: string, options: AbortOptions = {}): Promise<Record<string, string>> {
    if (!LABEL_KEY.test(key)) throw new InvalidLabelError(`invalid label key ${JSON.stringify(key)}: letters, digits and . _ / - (max 63, starting with a letter or digit)`)
    if (value.length > MAX_LABEL_VALUE) throw new InvalidLabelError(`label value longer than ${MAX_LABEL_VALUE} characters`)
    if (!(key in this.current()) && Object.keys(this.current()).length >= MAX_LABELS) throw new InvalidLabelError(`at most ${MAX_LABELS} labels`)
    await this.save({ set: { ...this.overlay.set, [key]: value }, removed: this.overlay.removed.filter(k => k !== key) }, options)
    return this.current()
  }

  async remove (key: string, options: AbortOptions = {}): Promise<Record<string, string>> {
    if (!(key in this.current())) throw new InvalidLabelError(`no label ${JSON.stringify(key)} on this node`)
    const set = { ...this.overlay.set }
    delete set[key]
    const removed = key in this.configured ? [...new Set([...this.overlay.removed, key])] : this.overlay.removed
    await this.save({ set, removed }, options)
    return this.current()
  }

  private async save (overlay: LabelOverlay, options: AbortOptions): Promise<void> {
    this.overlay = overlay
    await this.datastore.put(LABELS_KEY, new TextEncoder().encode(JSON.stringify(overlay)), options)
  }
}
