/**
 * `@attrstore/testing/world`: the database × storage matrix for tests of TypeORM entities
 * with stored attributes. Each test gets a world: a fresh database (SQLite or PostgreSQL)
 * and fresh storages (filesystem or S3), and checks that the storages hold exactly what
 * the rows reference. Needs `typeorm`, `@attrstore/typeorm` and `@attrstore/fs`, plus
 * `better-sqlite3` for SQLite, `pg` for PostgreSQL and `@attrstore/s3` for S3.
 *
 * ```ts
 * const databases = await startDatabaseServer('sqlite')
 * const storages = await startStorageServer('fs')
 * const world = await createWorld(databases, {
 *   entities: [File],
 *   storages: { files: await storages.create() },
 *   attributes: [{ entity: File, attribute: 'data', storage: 'files' }],
 * })
 * // ... save and load through world.dataSource ...
 * expect(await keyDifference(world.dataSource, world.storages.files)).toEqual({ orphaned: [], missing: [] })
 * await world.destroy()
 * await Promise.all([databases.stop(), storages.stop()])
 * ```
 */
export {
  startDatabaseServer,
  type DatabaseKind,
  type DatabaseServer,
  type TestDatabase,
  type TestDataSourceOptions,
} from './databases.js'
export { keyDifference, referencedKeys, storedKeys, type KeyDifference } from './keys.js'
export {
  openStorage,
  startStorageServer,
  startStorageServerOrSkip,
  type NamedStorageServer,
  type StorageKind,
  type StorageServer,
  type StorageSpec,
} from './storages.js'
export { createWorld, type StoredAttributeBinding, type World, type WorldOptions } from './world.js'
