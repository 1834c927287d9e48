import type { UploadTokens } from '@attrstore/attacher'
import type { AttributeStorage } from '@attrstore/core'
import { EventSubscriber, type DataSource, type EntityTarget, type ObjectLiteral } from 'typeorm'
import { StorageBinding, type StorageEventMap } from './registry.js'
import { StoredAttributeSubscriber } from './subscriber.js'
import { installHooks } from './typeorm-hooks.js'
import { processWide } from './process-wide.js'
import type { EventEmitter } from 'node:events'

const bindings = processWide('bindings', () => new WeakMap<DataSource, StorageBinding>())

export function bindingOf(dataSource: DataSource): StorageBinding {
  let binding = bindings.get(dataSource)
  if (binding) return binding
  installHooks(dataSource) // first: a TypeORM attrstore cannot hook into is refused untouched
  binding = new StorageBinding(dataSource)
  bindings.set(dataSource, binding)
  // initialize() builds `subscribers` from the options' @EventSubscriber() classes, so the
  // subscriber goes there (it then survives a destroy() and a new initialize()), and onto
  // the live list when the DataSource is already initialised.
  const bound = class extends StoredAttributeSubscriber {
    constructor() {
      super(binding!)
    }
  }
  EventSubscriber()(bound)
  const existing = dataSource.options.subscribers
  const list = Array.isArray(existing) ? existing : existing ? Object.values(existing) : []
  Object.assign(dataSource.options, { subscribers: [...list, bound] })
  if (dataSource.isInitialized) {
    dataSource.subscribers.push(new bound())
  }
  return binding
}

/**
 * Registers the storage of one stored attribute, at start-up: the port of CubicWeb's
 * `repo.system_source.set_storage('File', 'data', storage)`. Installs attrstore's
 * subscriber on the DataSource the first time. May be called before or after
 * `dataSource.initialize()`.
 *
 * ```ts
 * setStorage(dataSource, File, 'data', new S3Storage({ bucket: 'files' }))
 * ```
 *
 * @param attribute the property name; `'embedded.property'` for embedded entities.
 */
export function setStorage<Entity extends ObjectLiteral>(
  dataSource: DataSource,
  entity: EntityTarget<Entity>,
  attribute: string,
  storage: AttributeStorage,
): void {
  bindingOf(dataSource).register(entity, attribute, storage)
}

/** Removes a registration made by {@link setStorage}. */
export function unsetStorage<Entity extends ObjectLiteral>(
  dataSource: DataSource,
  entity: EntityTarget<Entity>,
  attribute: string,
): void {
  bindings.get(dataSource)?.register(entity, attribute, undefined)
}

/**
 * Events of a DataSource's stored attributes: `cleanupFailed` when an object could not be
 * deleted after a commit or rollback (it is left for garbage collection; the user's work is
 * not failed for it), and `orphaned` when an object may be left unreferenced.
 */
export function storageEvents(dataSource: DataSource): EventEmitter<StorageEventMap> {
  return bindingOf(dataSource).events
}

/** Every registered (entity metadata, column, storage) of a DataSource: for tools (gc, verify, migrate). */
export function storageBindings(dataSource: DataSource): ReturnType<StorageBinding['bindings']> {
  return bindings.get(dataSource)?.bindings() ?? []
}

/**
 * Registers what signs and checks the tokens of direct uploads on this DataSource's
 * stored attributes: `createUpload(dataSource, ...)` signs with it, and saving a
 * `claimUpload(token)` checks with it. At start-up, like `setStorage`.
 *
 * ```ts
 * setUploadTokens(dataSource, new UploadTokens({ secret: process.env.UPLOAD_SECRET! }))
 * ```
 */
export function setUploadTokens(dataSource: DataSource, tokens: UploadTokens): void {
  bindingOf(dataSource).uploadTokens = tokens
}
