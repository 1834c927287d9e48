import { EventEmitter } from 'node:events'
import {
  objectKeyOf,
  type AttacherHost,
  type CleanupFailure,
  type UploadTokens,
} from '@attrstore/attacher'
import { ConfigurationError, type AttributeStorage } from '@attrstore/core'
import type { DataSource, EntityMetadata, EntityTarget, ObjectLiteral, QueryRunner } from 'typeorm'
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js'
import { storedAttributeOptions, type StoredAttributeOptions } from './decorator.js'
import { StorageNotConfiguredError } from './errors.js'
import { TypeOrmObjectLocks } from './object-locks.js'
import { byObject, mayCarryVersions, ReferenceQueries } from './reference-queries.js'

export type { CleanupFailure } from '@attrstore/attacher'

/** Events of one DataSource's stored attributes. */
export interface StorageEventMap {
  /** A clean-up failed; the user's work was not failed for it. Default: a console warning. */
  cleanupFailed: [CleanupFailure]
  /** An object may be orphaned and is left for the garbage collector. */
  orphaned: [{ key: string; storage: AttributeStorage; reason: string }]
}

export interface StoredColumn {
  column: ColumnMetadata
  options: StoredAttributeOptions
}

/**
 * What `setStorage` registered on one DataSource, and the ports of `@attrstore/attacher`
 * on it: the reference index (queries on every column that uses a storage), the object
 * locks, the events.
 */
export class StorageBinding implements AttacherHost<QueryRunner> {
  readonly events = new EventEmitter<StorageEventMap>()
  /** Keeps imports and clean-ups of one object from interleaving. */
  readonly objectLocks: TypeOrmObjectLocks
  /** What signs and checks direct-upload tokens (`setUploadTokens`), when configured. */
  uploadTokens: UploadTokens | undefined
  private readonly storages = new Map<string, AttributeStorage>()
  private readonly pendingTargets: Array<{
    target: EntityTarget<ObjectLiteral>
    attribute: string
    storage: AttributeStorage | undefined
  }> = []

  /** The SQL of the reference checks. */
  private readonly references: ReferenceQueries

  constructor(readonly dataSource: DataSource) {
    this.objectLocks = new TypeOrmObjectLocks(dataSource)
    this.references = new ReferenceQueries(dataSource)
  }

  /** Changes with every registration: what caches a resolved storage compares. */
  revision = 0

  register(
    target: EntityTarget<ObjectLiteral>,
    attribute: string,
    storage: AttributeStorage | undefined,
  ): void {
    this.revision++
    if (!this.dataSource.isInitialized) {
      this.pendingTargets.push({ target, attribute, storage })
      return
    }
    this.settle() // earlier registrations first, so a later unsetStorage wins
    const metadata = this.dataSource.getMetadata(target)
    const column = metadata.findColumnWithPropertyPath(attribute)
    if (!column || !storedAttributeOptions(column.target, column.propertyName)) {
      throw new ConfigurationError(
        `${metadata.name}.${attribute} is not a @StoredAttribute(): decorate the property before calling setStorage().`,
      )
    }
    const id = bindingId(metadata, column)
    if (storage) this.storages.set(id, storage)
    else this.storages.delete(id)
    this.byColumn = new WeakMap()
  }

  /**
   * Resolves registrations made before the DataSource was initialised. Each is applied on
   * its own, so one bad registration does not drop the good ones; the first error is
   * thrown once all were tried.
   */
  private settle(): void {
    if (!this.pendingTargets.length || !this.dataSource.isInitialized) return
    const pending = this.pendingTargets.splice(0)
    const errors: unknown[] = []
    for (const { target, attribute, storage } of pending) {
      try {
        this.register(target, attribute, storage)
      } catch (error) {
        errors.push(error)
      }
    }
    if (errors.length) throw errors[0]
  }

  /** Per column, the storage resolved last: loads of many rows ask for it once per row. */
  private byColumn = new WeakMap<ColumnMetadata, AttributeStorage>()

  storageFor(metadata: EntityMetadata, column: ColumnMetadata): AttributeStorage {
    const cached = this.pendingTargets.length ? undefined : this.byColumn.get(column)
    if (cached) return cached
    this.settle()
    const storage = this.storages.get(bindingId(metadata, column))
    if (!storage) throw new StorageNotConfiguredError(metadata.name, column.propertyPath)
    this.byColumn.set(column, storage)
    return storage
  }

  /** Every (entity, column) whose objects live in `storage`: where a key may still be referenced. */
  usersOf(storage: AttributeStorage): Array<{ metadata: EntityMetadata; column: ColumnMetadata }> {
    this.settle()
    const found: Array<{ metadata: EntityMetadata; column: ColumnMetadata }> = []
    for (const metadata of this.dataSource.entityMetadatas) {
      for (const { column } of storedColumns(metadata)) {
        const other = this.storages.get(bindingId(metadata, column))
        if (other && sameLocation(other, storage)) found.push({ metadata, column })
      }
    }
    return found
  }

  /** Every registered (entity, column, storage), for tools such as the garbage collector. */
  bindings(): Array<{
    metadata: EntityMetadata
    column: ColumnMetadata
    storage: AttributeStorage
  }> {
    this.settle()
    const found: Array<{
      metadata: EntityMetadata
      column: ColumnMetadata
      storage: AttributeStorage
    }> = []
    for (const metadata of this.dataSource.entityMetadatas) {
      for (const { column } of storedColumns(metadata)) {
        const storage = this.storages.get(bindingId(metadata, column))
        if (storage) found.push({ metadata, column, storage })
      }
    }
    return found
  }

  /**
   * Whether any row (soft-deleted ones included) of any entity whose storage addresses the
   * same place as `storage` holds a reference to the object `key` addresses: `key` itself,
   * or, where references may carry versions (`versionedReferences`), any reference with
   * the same object key (`storage.objectKey`), since on S3 `k` and `k//versionId=…` may
   * read the same bytes. Runs on `queryRunner` when given, so a check made while a
   * connection is held never waits for a second one from the pool.
   */
  async isReferenced(
    storage: AttributeStorage,
    key: string,
    queryRunner?: QueryRunner,
  ): Promise<boolean> {
    const object = objectKeyOf(storage, key)
    const versions = mayCarryVersions(storage)
    const references = await this.references.among(
      this.usersOf(storage),
      [key],
      versions ? [object] : undefined,
      queryRunner,
    )
    // Without versions, a row the database matched is a reference (under its collation);
    // with versions, compared exactly here (SQLite's LIKE ignores ASCII case).
    return references.some(
      (reference) =>
        reference !== null &&
        (!versions || reference === key || objectKeyOf(storage, reference) === object),
    )
  }

  /**
   * Of `keys`, the ones {@link isReferenced} would say are referenced, asked at once (per
   * slice of {@link REFERENCE_SLICE} keys): on PostgreSQL one statement for all the
   * columns using the storage, elsewhere one per column (`reference-queries.ts`). A key the
   * database matched only under its collation (a case-insensitive one, say) is asked again
   * on its own, as {@link isReferenced} compares with `=`.
   */
  async referencedAmong(
    storage: AttributeStorage,
    keys: readonly string[],
    queryRunner?: QueryRunner,
  ): Promise<Set<string>> {
    const found = new Set<string>()
    const versions = mayCarryVersions(storage)
    const users = this.usersOf(storage)
    const unique = [...new Set(keys)]
    for (let start = 0; start < unique.length; start += REFERENCE_SLICE) {
      const pending = unique.slice(start, start + REFERENCE_SLICE)
      const asked = new Set(pending)
      const objects = versions ? byObject(storage, pending) : undefined
      let inexact = false
      for (const reference of await this.references.among(
        users,
        pending,
        objects ? [...objects.keys()] : undefined,
        queryRunner,
      )) {
        if (reference === null) continue
        if (asked.has(reference)) found.add(reference)
        else if (!objects) inexact = true
        // Compared exactly here, as isReferenced does (SQLite's LIKE ignores ASCII case).
        for (const key of objects?.get(objectKeyOf(storage, reference)) ?? []) found.add(key)
      }
      if (inexact) {
        for (const key of pending)
          if (!found.has(key) && (await this.isReferenced(storage, key, queryRunner)))
            found.add(key)
      }
    }
    return found
  }

  /**
   * Locks (FOR SHARE) the rows that hold `key` in this transaction, so that no other
   * transaction deletes them, and then the object, before this one commits. Databases
   * without row locks are skipped, and so is PostgreSQL, whose advisory object locks
   * (`object-locks.ts`) cover imports without row locks that could deadlock with updates.
   */
  async lockReferences(
    storage: AttributeStorage,
    key: string,
    queryRunner: QueryRunner,
  ): Promise<void> {
    if (!LOCKING_DRIVERS.has(this.dataSource.options.type)) return
    for (const { metadata, column } of this.usersOf(storage)) {
      await this.dataSource
        .createQueryBuilder(metadata.target, 'owner', queryRunner)
        .withDeleted()
        .select(metadata.primaryColumns.map((primary) => `owner.${primary.propertyPath}`))
        .where(`owner.${column.propertyPath} = :key`, { key })
        .setLock('pessimistic_read')
        .getRawMany()
    }
  }

  report(failure: CleanupFailure): void {
    if (this.events.listenerCount('cleanupFailed') > 0) this.events.emit('cleanupFailed', failure)
    else {
      console.warn(
        `[attrstore] ${failure.operation} of ${JSON.stringify(failure.key)} failed; the object is left for garbage collection:`,
        failure.error instanceof Error ? failure.error.message : failure.error,
      )
    }
  }

  orphaned(key: string, storage: AttributeStorage, reason: string): void {
    this.events.emit('orphaned', { key, storage, reason })
  }
}

/**
 * Keys per reference query: with versions, up to three parameters each, under SQLite's
 * historical limit of 999 bound parameters.
 */
const REFERENCE_SLICE = 300

const LOCKING_DRIVERS = new Set<string>([
  'cockroachdb',
  'mysql',
  'mariadb',
  'aurora-mysql',
  'mssql',
  'oracle',
])

/** Two storages address the same objects: the same instance, or the same declared location. */
function sameLocation(a: AttributeStorage, b: AttributeStorage): boolean {
  return a === b || (a.location !== undefined && a.location === b.location)
}

function bindingId(metadata: EntityMetadata, column: ColumnMetadata): string {
  return `${metadata.tableName}\u0000${column.propertyPath}`
}

const columnCache = new WeakMap<EntityMetadata, StoredColumn[]>()

/** The stored attributes of an entity, embedded ones included. */
export function storedColumns(metadata: EntityMetadata): StoredColumn[] {
  let found = columnCache.get(metadata)
  if (!found) {
    found = []
    for (const column of metadata.columns) {
      const options = storedAttributeOptions(column.target, column.propertyName)
      if (options) found.push({ column, options })
    }
    columnCache.set(metadata, found)
  }
  return found
}
