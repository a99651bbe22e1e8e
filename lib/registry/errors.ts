export { ServiceNotFoundError } from '../interface/errors.js'

export class InvalidCatalogEntryError extends Error {
  override name = 'InvalidCatalogEntryError'
}
