/**
 * What a view reads from the API, kept across renders: loaded on the
 * view's first render, and again when the store has changed (members
 * come and go) more than `staleMs` after the last load, one load at a time.
 */
export class Loader<T> {
  value?: T
  error?: string
  private loading = false
  private at = 0

  constructor (private readonly read: () => Promise<T>, private readonly staleMs: number) {}

  /** Load if it is due (`changedAt`: when the store last changed). */
  refresh (changedAt: number | undefined, rerender: () => void): void {
    if (!this.loading && (this.value == null || (changedAt ?? 0) > this.at + this.staleMs)) void this.load(rerender)
  }

  async load (rerender: () => void): Promise<void> {
    if (this.loading) return
    this.loading = true
    try {
      this.value = await this.read()
      delete this.error
    } catch (err: any) {
      this.error = `${String(err.name)}: ${String(err.message)}`
    } finally {
      this.loading = false
      this.at = Date.now()
      rerender()
    }
  }
}
