export class ServiceNotFoundError extends Error {
  override name = 'ServiceNotFoundError'
}

export class InvalidCatalogEntryError extends Error {
  override name = 'InvalidCatalogEntryError'
}
