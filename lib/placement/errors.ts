export class InvalidServiceSpecError extends Error {
  override name = 'InvalidServiceSpecError'
  /** the offending field, e.g. `requirements.memoryMb` ('' for the spec itself) */
  readonly field: string

  constructor (message: string, field: string) {
    super(message)
    this.field = field
  }
}
