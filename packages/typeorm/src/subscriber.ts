import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import {
  existingObject,
  isExistingObject,
  Limiter,
  ObjectNotFoundError,
  sha256Hex,
  type AttributeStorage,
  type Body,
} from '@attrstore/core'
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
import { attachedState, attachState, StoredContent, type AttachedState } from './content.js'
import type { StoredAttributeOptions } from './decorator.js'
import { storedColumns, type StorageBinding } from './registry.js'
import { currentAffectedRows, isReloadingForPersistence } from './typeorm-hooks.js'
import {
  operationUnit,
  transactionDepth,
  transactionUnit,
  unitOfWork,
  type UnitOfWork,
} from './unit-of-work.js'

function isBytes(value: unknown): value is Uint8Array | string {
  return typeof value === 'string' || value instanceof Uint8Array
}

function isStream(value: unknown): boolean {
  return (
    value instanceof Readable ||
    (typeof value === 'object' && value !== null && Symbol.asyncIterator in value)
  )
}

/** The value attrstore last put in the property is still there, unmodified. */
function isUnchanged(value: unknown, state: AttachedState | undefined): boolean {
  if (!state || value !== state.value) return false
  if (state.sha256 !== undefined && isBytes(value)) return sha256Hex(value) === state.sha256
  return true
}

/**
 * The entity subscriber `setStorage` installs: swaps content for keys on the way in and
 * keys for content on the way out, and settles uploads and deletions with the transaction.
 */
export class StoredAttributeSubscriber implements EntitySubscriberInterface<ObjectLiteral> {
  private readonly limiters = new WeakMap<AttributeStorage, Limiter>()

  constructor(private readonly binding: StorageBinding) {}

  // ---- loads --------------------------------------------------------------------------

  /**
   * Synchronous unless a download is needed: a lazy load of many rows then costs no
   * promise per row.
   */
  afterLoad(entity: ObjectLiteral, event?: LoadEvent<ObjectLiteral>): Promise<void> | void {
    const metadata = event?.metadata
    if (!metadata || isReloadingForPersistence()) return
    let downloads: Array<Promise<void>> | undefined
    for (const { column, options } of storedColumns(metadata)) {
      const download = this.fill(entity, metadata, column, options)
      if (download) (downloads ??= []).push(download)
    }
    if (downloads) return Promise.all(downloads).then(() => {})
  }

  private fill(
    entity: ObjectLiteral,
    metadata: EntityMetadata,
    column: ColumnMetadata,
    options: StoredAttributeOptions,
  ): Promise<void> | undefined {
    const key: unknown = column.getEntityValue(entity)
    if (key === undefined || (key !== null && typeof key !== 'string')) return // not selected, or already filled
    const path = column.propertyPath
    if (key === null) {
      attachState(entity, path, { key: null, value: null })
      return
    }
    const storage = this.binding.storageFor(metadata, column)
    const mode = options.load ?? 'eager'
    if (mode === 'none') {
      attachState(entity, path, { key, value: key })
      return
    }
    if (mode === 'lazy') {
      const handle = new StoredContent(key, storage)
      column.setEntityValue(entity, handle)
      attachState(entity, path, { key, value: handle })
      return
    }
    return this.download(entity, metadata, column, options, storage, key)
  }

  private async download(
    entity: ObjectLiteral,
    metadata: EntityMetadata,
    column: ColumnMetadata,
    options: StoredAttributeOptions,
    storage: AttributeStorage,
    key: string,
  ): Promise<void> {
    const path = column.propertyPath
    const { bytes, sha256 } = await this.limiterOf(storage, options).run(async () => {
      try {
        return await readHashed(storage, key)
      } catch (error) {
        if (!(error instanceof ObjectNotFoundError)) throw error
        throw new ObjectNotFoundError(
          key,
          `${metadata.name}.${path}: the object ${JSON.stringify(key)} this row references is missing from its storage`,
          { cause: error },
        )
      }
    })
    column.setEntityValue(entity, bytes)
    // The hash lets a later save notice in-place edits of this Buffer.
    attachState(entity, path, { key, value: bytes, sha256 })
  }

  private limiterOf(storage: AttributeStorage, options: StoredAttributeOptions): Limiter {
    let limiter = this.limiters.get(storage)
    if (!limiter) this.limiters.set(storage, (limiter = new Limiter(options.loadConcurrency ?? 8)))
    return limiter
  }

  // ---- writes -------------------------------------------------------------------------

  async beforeInsert(event: InsertEvent<ObjectLiteral>): Promise<void> {
    await this.beforeWrite(event.entity, event.metadata, event.queryRunner, () => [])
  }

  async beforeUpdate(event: UpdateEvent<ObjectLiteral>): Promise<void> {
    const { entity, databaseEntity, metadata } = event
    if (!entity) return
    const affected = databaseEntity ? [databaseEntity] : (currentAffectedRows(metadata) ?? [])
    await this.beforeWrite(
      entity,
      metadata,
      event.queryRunner,
      (column) => affected.map((row) => column.getEntityValue(row) as string | null | undefined),
      databaseEntity,
      affected.length > 0,
    )
  }

  private async beforeWrite(
    entity: ObjectLiteral | undefined,
    metadata: EntityMetadata,
    queryRunner: QueryRunner,
    previousKeys: (column: ColumnMetadata) => Array<string | null | undefined>,
    databaseEntity?: ObjectLiteral,
    touchesRows = true,
  ): Promise<void> {
    if (!entity) return
    const columns = storedColumns(metadata)
    if (!columns.length) return
    const unit = unitOfWork(queryRunner, this.binding)
    const depth = transactionDepth(queryRunner)
    const writes = columns.map(({ column, options }) =>
      this.writeColumn({
        entity,
        metadata,
        column,
        options,
        unit,
        depth,
        previous: previousKeys(column),
        databaseEntity,
        touchesRows,
        queryRunner,
      }),
    )
    // Another write (of this entity or another) may fail and roll back before this one
    // ends: the unit waits for each before settling.
    for (const write of writes) unit.track(write)
    await Promise.all(writes)
  }

  private async writeColumn(write: {
    entity: ObjectLiteral
    metadata: EntityMetadata
    column: ColumnMetadata
    options: StoredAttributeOptions
    unit: UnitOfWork
    depth: number
    previous: Array<string | null | undefined>
    databaseEntity: ObjectLiteral | undefined
    touchesRows: boolean
    queryRunner: QueryRunner
  }): Promise<void> {
    const { entity, metadata, column, options, unit, depth, previous, databaseEntity } = write
    const value: unknown = column.getEntityValue(entity)
    if (value === undefined) return
    const path = column.propertyPath
    const state = attachedState(entity, path)
    const previousKeys = [
      ...new Set(previous.filter((key): key is string => typeof key === 'string')),
    ]
    const storage = this.binding.storageFor(metadata, column)

    // Unchanged since loaded or saved: make TypeORM see no change, upload nothing.
    if (databaseEntity) {
      const current: unknown = column.getEntityValue(databaseEntity)
      const sameObject =
        typeof current === 'string' &&
        ((value instanceof StoredContent && value.storage === storage && value.key === current) ||
          (isExistingObject(value) && value.key === current))
      if (
        (isUnchanged(value, state) && state?.key === current) ||
        value === current ||
        sameObject
      ) {
        const shown =
          sameObject && !(value instanceof StoredContent)
            ? new StoredContent(current, storage)
            : value
        column.setEntityValue(entity, shown)
        column.setEntityValue(databaseEntity, shown)
        if (shown !== value) attachState(entity, path, { key: current as string, value: shown })
        return
      }
    }

    let key: string | null = null
    let display: unknown = value
    let sha256: string | undefined
    let upload: ReturnType<UnitOfWork['uploaded']> | undefined
    if (value !== null) {
      const imported = value instanceof StoredContent && value.storage === storage
      if (imported || isExistingObject(value)) {
        // Before the storage checks that the object exists: see object-locks.ts.
        const release = await this.binding.objectLocks.forImport(
          storage,
          (value as { key: string }).key,
          write.queryRunner,
          depth > 0,
        )
        if (release) unit.holdImportLock(release)
      }
      const body: Body = imported
        ? existingObject(value.key)
        : value instanceof StoredContent
          ? await value.stream()
          : (value as Body)
      const result = await storage.write(body, {
        context: {
          entityName: metadata.name,
          attributeName: path,
          entity,
          ...optional('fileName', options.fileName?.(entity) ?? undefined),
        },
        ...optional('contentType', resolveContentType(options, entity)),
      })
      key = result.key
      if (result.imported) {
        unit.imported(storage, key, depth)
        // Elsewhere than PostgreSQL (whose object locks cover this), also keep the rows that
        // hold the key from being deleted by another transaction until this one commits.
        if (depth > 0) await this.binding.lockReferences(storage, key, write.queryRunner)
      } else {
        upload = unit.uploaded(storage, key, depth)
      }
      if (isStream(value) || isExistingObject(value) || value instanceof StoredContent) {
        display = imported ? value : new StoredContent(key, storage)
      } else if (isBytes(value)) {
        sha256 = result.sha256
      }
    }
    for (const old of previousKeys) if (old !== key) unit.deleteAfterCommit(storage, old, depth)

    column.setEntityValue(entity, key)
    unit.propertyWritten(entity, {
      depth,
      ...(upload ? { upload } : {}),
      confirms: write.touchesRows,
      succeeded: () => {
        column.setEntityValue(entity, display)
        attachState(entity, path, { key, value: display, ...(sha256 ? { sha256 } : {}) })
      },
      failed: () => {
        column.setEntityValue(entity, value)
        attachState(entity, path, state)
      },
    })
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
    const columns = storedColumns(metadata)
    if (!columns.length) return
    const rows = event.databaseEntity
      ? [event.databaseEntity]
      : (currentAffectedRows(metadata) ?? [])
    if (!rows.length) return
    const unit = unitOfWork(queryRunner, this.binding)
    const depth = transactionDepth(queryRunner)
    for (const { column } of columns) {
      const storage = this.binding.storageFor(metadata, column)
      for (const row of rows) {
        const key: unknown = column.getEntityValue(row)
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
 * Downloads an object with its SHA-256: the one the storage recorded when it tells it in
 * the same response (S3), else computed chunk by chunk as the bytes arrive.
 */
async function readHashed(
  storage: AttributeStorage,
  key: string,
): Promise<{ bytes: Buffer; sha256: string }> {
  const { stream, sha256: recorded } = await storage.open(key)
  const hash = recorded === undefined ? createHash('sha256') : undefined
  const chunks: Buffer[] = []
  for await (const chunk of stream) {
    hash?.update(chunk as Buffer)
    chunks.push(chunk as Buffer)
  }
  const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
  return { bytes, sha256: recorded ?? hash!.digest('hex') }
}

function resolveContentType(
  options: StoredAttributeOptions,
  entity: ObjectLiteral,
): string | undefined {
  const { contentType } = options
  const resolved = typeof contentType === 'function' ? contentType(entity) : contentType
  return resolved ?? undefined
}

function optional<K extends string, V>(name: K, value: V | undefined): { [P in K]?: V } {
  return (value === undefined ? {} : { [name]: value }) as { [P in K]?: V }
}
