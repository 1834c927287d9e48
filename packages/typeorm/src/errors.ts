import { ConfigurationError } from '@attrstore/core'

/** A `@StoredAttribute()` was used with no storage registered by `setStorage(...)`. */
export class StorageNotConfiguredError extends ConfigurationError {
  readonly entityName: string
  readonly attributeName: string

  constructor(entityName: string, attributeName: string) {
    super(
      `No storage is registered for ${entityName}.${attributeName}: call ` +
        `setStorage(dataSource, ${entityName}, '${attributeName}', storage) at start-up.`,
    )
    this.entityName = entityName
    this.attributeName = attributeName
  }
}
