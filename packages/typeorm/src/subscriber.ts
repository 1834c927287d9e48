import { Attacher, type AttachedAttribute, type AttributeAccess } from '@attrstore/attacher'
import type { AttributeStorage } from '@attrstore/core'
import type {
  AfterQueryEvent,
  EntityMetadata,
  EntitySubscriberInterface,
  InsertEvent,
  LoadEvent,
  ObjectLiteral,
  QueryRunner,
  RemoveEvent,
  TransactionCommitEvent,
  TransactionRollbackEvent,
  UpdateEvent,
} from 'typeorm'
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js'
import { storedColumns, type StorageBinding } from './registry.js'
import { currentAffectedRows, isReloadingForPersistence } from './typeorm-hooks.js'
import { operationUnit, transactionDepth, transactionUnit, unitOfWork } from './unit-of-work.js'

/**
 * The entity subscriber `setStorage` installs: wires TypeORM's events to the ORM-neutral
 * `@attrstore/attacher`, which swaps content for keys on the way in and keys for content
 * on the way out, and settles uploads and deletions with the transaction.
 */
export class StoredAttributeSubscriber implements EntitySubscriberInterface<ObjectLiteral> {
  private readonly attacher: Attacher<QueryRunner>
  private readonly attributes = new WeakMap<EntityMetadata, AttachedAttribute<ObjectLiteral>[]>()
  /** The entity type asked last, and its attributes: a load of many rows asks for one type. */
  private lastMetadata: EntityMetadata | undefined
  private lastAttributes: AttachedAttribute<ObjectLiteral>[] = []

  constructor(private readonly binding: StorageBinding) {
    this.attacher = new Attacher(binding)
  }

  /** The stored attributes of an entity, described for the attacher (a column is its access). */
  private attributesOf(metadata: EntityMetadata): AttachedAttribute<ObjectLiteral>[] {
    if (metadata === this.lastMetadata) return this.lastAttributes
    let found = this.attributes.get(metadata)
    if (!found) {
      found = storedColumns(metadata).map(({ column, options }) => ({
        entityName: metadata.name,
        access: accessOf(column),
        options,
        storage: this.storageOf(metadata, column),
      }))
      this.attributes.set(metadata, found)
    }
    this.lastMetadata = metadata
    this.lastAttributes = found
    return found
  }

  /** The column's storage, resolved again only after a registration changed (loads ask once per row). */
  private storageOf(metadata: EntityMetadata, column: ColumnMetadata): () => AttributeStorage {
    const binding = this.binding
    let resolved: AttributeStorage | undefined
    let revision = -1
    return () => {
      if (!resolved || revision !== binding.revision) {
        resolved = binding.storageFor(metadata, column)
        revision = binding.revision
      }
      return resolved
    }
  }

  // ---- loads --------------------------------------------------------------------------

  /**
   * Synchronous unless a download is needed: a lazy load of many rows then costs no
   * promise per row.
   */
  afterLoad(entity: ObjectLiteral, event?: LoadEvent<ObjectLiteral>): Promise<void> | void {
    const metadata = event?.metadata
    if (!metadata) return
    const attributes = this.attributesOf(metadata)
    if (!attributes.length || isReloadingForPersistence()) return
    let downloads: Array<Promise<void>> | undefined
    for (const attribute of attributes) {
      const download = this.attacher.load(entity, attribute)
      if (download) (downloads ??= []).push(download)
    }
    if (downloads) return Promise.all(downloads).then(() => {})
  }

  // ---- writes -------------------------------------------------------------------------

  async beforeInsert(event: InsertEvent<ObjectLiteral>): Promise<void> {
    await this.beforeWrite(event.entity, event.metadata, event.queryRunner, [])
  }

  async beforeUpdate(event: UpdateEvent<ObjectLiteral>): Promise<void> {
    const { entity, databaseEntity, metadata } = event
    if (!entity) return
    const affected = databaseEntity ? [databaseEntity] : (currentAffectedRows(metadata) ?? [])
    await this.beforeWrite(
      entity,
      metadata,
      event.queryRunner,
      affected,
      databaseEntity,
      affected.length > 0,
    )
  }

  /** `affected`: the rows the statement changes, as they are now (their keys get superseded). */
  private async beforeWrite(
    entity: ObjectLiteral | undefined,
    metadata: EntityMetadata,
    queryRunner: QueryRunner,
    affected: ObjectLiteral[],
    databaseEntity?: ObjectLiteral,
    touchesRows = true,
  ): Promise<void> {
    if (!entity) return
    const attributes = this.attributesOf(metadata)
    if (!attributes.length) return
    const unit = unitOfWork(queryRunner, this.binding)
    const depth = transactionDepth(queryRunner)
    const writes = attributes.map((attribute) =>
      this.attacher.write({
        entity,
        attribute,
        unit,
        depth,
        previous: affected.map((row) => attribute.access.getEntityValue(row)),
        databaseEntity,
        touchesRows,
        connection: queryRunner,
      }),
    )
    // Another write (of this entity or another) may fail and roll back before this one
    // ends: the unit waits for each before settling.
    for (const write of writes) unit.track(write)
    await Promise.all(writes)
  }

  afterInsert(event: InsertEvent<ObjectLiteral>): void {
    this.afterStatement(event.queryRunner, event.entity)
  }

  afterUpdate(event: UpdateEvent<ObjectLiteral>): void {
    this.afterStatement(event.queryRunner, event.entity)
  }

  // ---- removals -----------------------------------------------------------------------

  beforeRemove(event: RemoveEvent<ObjectLiteral>): void {
    const { metadata, queryRunner } = event
    const attributes = this.attributesOf(metadata)
    if (!attributes.length) return
    const rows = event.databaseEntity
      ? [event.databaseEntity]
      : (currentAffectedRows(metadata) ?? [])
    if (!rows.length) return
    const unit = unitOfWork(queryRunner, this.binding)
    const depth = transactionDepth(queryRunner)
    for (const attribute of attributes) {
      const storage = attribute.storage()
      for (const row of rows) {
        const key = attribute.access.getEntityValue(row)
        if (typeof key === 'string') unit.deleteAfterCommit(storage, key, depth)
      }
    }
  }

  // ---- outcomes -----------------------------------------------------------------------

  private afterStatement(queryRunner: QueryRunner, entity: ObjectLiteral | undefined): void {
    const unit = transactionDepth(queryRunner) > 0 ? transactionUnit(queryRunner) : operationUnit()
    unit?.statementSucceeded(entity)
  }

  afterQuery(event: AfterQueryEvent): void {
    if (!event.success) return
    // PostgreSQL answers COMMIT of a transaction aborted by a failed statement with ROLLBACK.
    if (
      /^\s*commit\b/i.test(event.query) &&
      (event.rawResults as { command?: string } | undefined)?.command === 'ROLLBACK'
    ) {
      transactionUnit(event.queryRunner)?.commitWasRolledBack()
      return
    }
    if (transactionDepth(event.queryRunner) > 0) return
    if (!/^\s*select\b/i.test(event.query)) operationUnit()?.writeStatementSucceeded()
  }

  async beforeTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    // Only the outermost commit makes imports visible to other transactions.
    if (transactionDepth(event.queryRunner) === 1)
      await transactionUnit(event.queryRunner)?.checkImports()
  }

  async afterTransactionCommit(event: TransactionCommitEvent): Promise<void> {
    await transactionUnit(event.queryRunner)?.committed(
      transactionDepth(event.queryRunner),
      event.queryRunner,
    )
  }

  async afterTransactionRollback(event: TransactionRollbackEvent): Promise<void> {
    await transactionUnit(event.queryRunner)?.rolledBack(transactionDepth(event.queryRunner))
  }
}

/**
 * How the attacher reads and writes the column's property: the column itself, or, for a
 * top-level column of the entity (not in an embedded, not a relation's), the property
 * directly, which is what `ColumnMetadata`'s accessors come down to there, without their
 * checks on every loaded row.
 */
function accessOf(column: ColumnMetadata): AttributeAccess<ObjectLiteral> {
  if (column.embeddedMetadata || column.relationMetadata || column.referencedColumn) return column
  const name = column.propertyName
  return {
    propertyPath: column.propertyPath,
    getEntityValue: (entity) => entity[name],
    setEntityValue: (entity, value) => {
      entity[name] = value
    },
  }
}
