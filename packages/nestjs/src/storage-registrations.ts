import type { OnApplicationShutdown } from '@nestjs/common'
import type { AttributeStorage } from '@attrstore/core'
import { setStorage, unsetStorage } from '@attrstore/typeorm'
import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm'

/** One stored attribute and the storage its bytes go to. */
export interface StorageRegistration<Entity extends ObjectLiteral = ObjectLiteral> {
  entity: EntityTarget<Entity>
  /** The property name; `'embedded.property'` for embedded entities. */
  attribute: string
  storage: AttributeStorage
}

/** What {@link AttrstoreModule} registers. */
export interface AttrstoreModuleOptions {
  storages: StorageRegistration[]
  /**
   * Whether the storages that declare `dispose()` are disposed when the application shuts
   * down (`app.close()`, or a signal with `app.enableShutdownHooks()`). Default true: the
   * module owns the storages it is given. `false` for storages the application shares with
   * something that outlives it.
   */
  dispose?: boolean
}

/** The injection token of the module's options. */
export const ATTRSTORE_OPTIONS = Symbol('AttrstoreModuleOptions')

/**
 * The storages {@link AttrstoreModule} registered on one DataSource: registered when Nest
 * builds this provider (before any lifecycle hook), unregistered and disposed on shutdown.
 * Injectable, to find the storage of an attribute (`storageOf(File, 'data')`).
 */
export class StorageRegistrations implements OnApplicationShutdown {
  readonly dataSource: DataSource
  private readonly options: AttrstoreModuleOptions

  constructor(dataSource: DataSource, options: AttrstoreModuleOptions) {
    this.dataSource = dataSource
    this.options = options
    for (const { entity, attribute, storage } of options.storages)
      setStorage(dataSource, entity, attribute, storage)
  }

  /** The storage registered here for an attribute, or undefined. */
  storageOf(entity: EntityTarget<ObjectLiteral>, attribute: string): AttributeStorage | undefined {
    return this.options.storages.find(
      (registration) => registration.entity === entity && registration.attribute === attribute,
    )?.storage
  }

  /**
   * Runs after Nest has closed the HTTP server (no request is still being served), and
   * before `@nestjs/typeorm` destroys the DataSource (Nest shuts global modules down
   * last). A shutdown hook of the application's that still saves stored attributes belongs
   * in `beforeApplicationShutdown`: after this one, they have no storage.
   */
  async onApplicationShutdown(): Promise<void> {
    for (const { entity, attribute } of this.options.storages)
      unsetStorage(this.dataSource, entity, attribute)
    if (this.options.dispose === false) return
    // A storage registered for several attributes is disposed once.
    const storages = new Set(this.options.storages.map((registration) => registration.storage))
    for (const storage of storages) await storage.dispose?.()
  }
}
