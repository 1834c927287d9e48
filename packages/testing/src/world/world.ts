/** A test's world: an initialised TypeORM DataSource on a fresh database, its stored attributes bound to storages. */
import type { AttributeStorage } from '@attrstore/core'
import { setStorage } from '@attrstore/typeorm'
import { DataSource, type EntityTarget, type ObjectLiteral } from 'typeorm'
import {
  dataSourceOptions,
  type DatabaseServer,
  type TestDatabase,
  type TestDataSourceOptions,
} from './databases.js'

/** One stored attribute and the name of the world's storage that holds it. */
export interface StoredAttributeBinding<StorageName extends string> {
  entity: EntityTarget<ObjectLiteral>
  /** The attribute's property path, e.g. `'data'` or `'attachment.content'` (embedded). */
  attribute: string
  storage: StorageName
}

export interface WorldOptions<
  Storages extends Record<string, AttributeStorage>,
> extends TestDataSourceOptions {
  /** The storages of the world, by name. */
  storages: Storages
  /** Which storage each stored attribute uses (`setStorage`). */
  attributes: ReadonlyArray<StoredAttributeBinding<Extract<keyof Storages, string>>>
  /**
   * Call `setStorage` before `dataSource.initialize()` instead of after it: both orders
   * are supported, and a test suite may want to alternate. Default false.
   */
  registerBeforeInitialize?: boolean
}

/** A test's database and storages. */
export interface World<Storages extends Record<string, AttributeStorage>> {
  /** Where the DataSource points, for another process to open the same database. */
  database: TestDatabase
  /** Initialised, with the stored attributes bound. */
  dataSource: DataSource
  storages: Storages
  /** Destroys the DataSource (the database itself goes with its server's `stop()`). */
  destroy(): Promise<void>
}

/**
 * Creates a fresh database on `server`, a DataSource on it with `options.entities` (tables
 * synchronised unless `synchronize: false`), binds each stored attribute to its storage
 * and initialises the DataSource.
 *
 * ```ts
 * const world = await createWorld(databases, {
 *   entities: [File],
 *   storages: { files: await storages.create() },
 *   attributes: [{ entity: File, attribute: 'data', storage: 'files' }],
 * })
 * ```
 */
export async function createWorld<Storages extends Record<string, AttributeStorage>>(
  server: DatabaseServer,
  options: WorldOptions<Storages>,
): Promise<World<Storages>> {
  const { storages } = options
  // Resolved before anything is created, so that a wrong name leaves nothing to clean up.
  const bindings = options.attributes.map(({ entity, attribute, storage }) => {
    const target = storages[storage]
    if (!target) throw new Error(`createWorld: no storage named ${JSON.stringify(storage)}`)
    return { entity, attribute, storage: target }
  })
  const database = await server.createDatabase()
  const dataSource = new DataSource(dataSourceOptions(database, options))
  const register = (): void => {
    for (const { entity, attribute, storage } of bindings)
      setStorage(dataSource, entity, attribute, storage)
  }
  if (options.registerBeforeInitialize) register()
  await dataSource.initialize()
  if (!options.registerBeforeInitialize) register()
  return {
    database,
    dataSource,
    storages,
    destroy: async () => {
      if (dataSource.isInitialized) await dataSource.destroy()
    },
  }
}
