import type { AttributeStorage } from '@attrstore/core'
import type { QueryRunner } from 'typeorm'
import type { StorageBinding } from './registry.js'

/**
 * What one query runner's work has done to storages and must settle when its outcome is
 * known: the rows of DESIGN.md's transaction table.
 *
 * - An upload made for a statement is deleted if that statement's transaction rolls back
 *   (or, outside a transaction, if the statement fails before anything was written).
 * - An object a statement superseded or removed is deleted only once that statement is
 *   committed, and only if no row still references it.
 *
 * Items carry the transaction depth they were made at, so a rolled-back savepoint undoes
 * only its own uploads.
 */
interface Upload {
  storage: AttributeStorage
  key: string
  depth: number
  /** Outside a transaction: a write statement has succeeded since, so the row may exist. */
  maybeCommitted: boolean
}

interface Deletion {
  storage: AttributeStorage
  key: string
  depth: number
}

/** How to put an entity's property back, depending on the statement's outcome. */
export interface PropertyWrite {
  /** The statement succeeded: show the content again, remember the new key. */
  succeeded(): void
  /** The statement failed or was rolled back: put the user's value and our old state back. */
  failed(): void
  depth: number
}

export class UnitOfWork {
  private uploads: Upload[] = []
  private deletions: Deletion[] = []
  /** Property writes waiting for their statement, by entity object. */
  private readonly writes = new Map<object, PropertyWrite[]>()
  /** Statements that succeeded since the last settlement, whose writes may be rolled back later. */
  private settled: PropertyWrite[] = []

  constructor(private readonly binding: StorageBinding) {}

  uploaded(storage: AttributeStorage, key: string, depth: number): void {
    this.uploads.push({ storage, key, depth, maybeCommitted: false })
  }

  deleteAfterCommit(storage: AttributeStorage, key: string, depth: number): void {
    this.deletions.push({ storage, key, depth })
  }

  propertyWritten(entity: object, write: PropertyWrite): void {
    const list = this.writes.get(entity)
    if (list) list.push(write)
    else this.writes.set(entity, [write])
  }

  /** The statement that wrote `entity` succeeded. */
  statementSucceeded(entity: object | undefined): void {
    if (!entity) return
    const list = this.writes.get(entity)
    if (!list) return
    this.writes.delete(entity)
    for (const write of list) {
      write.succeeded()
      if (write.depth > 0) this.settled.push(write)
    }
  }

  /** Outside a transaction, a write statement succeeded: rows may now exist for any upload so far. */
  autocommitWriteSucceeded(): void {
    for (const upload of this.uploads) if (upload.depth === 0) upload.maybeCommitted = true
  }

  /** Outside a transaction, every statement of the operation succeeded: settle now. */
  async autocommitSucceeded(): Promise<void> {
    this.uploads = this.uploads.filter((upload) => upload.depth > 0)
    const deletions = this.deletions.filter((deletion) => deletion.depth === 0)
    this.deletions = this.deletions.filter((deletion) => deletion.depth > 0)
    await this.deleteUnreferenced(deletions)
  }

  /** Outside a transaction, a statement failed. */
  async autocommitFailed(): Promise<void> {
    this.failPendingWrites(0)
    const uploads = this.uploads.filter((upload) => upload.depth === 0)
    this.uploads = this.uploads.filter((upload) => upload.depth > 0)
    const safe = uploads.filter((upload) => !upload.maybeCommitted)
    for (const upload of uploads) {
      if (upload.maybeCommitted) {
        this.binding.orphaned(
          upload.key,
          upload.storage,
          'a later statement of the same non-transactional save failed',
        )
      }
    }
    const dropped = this.deletions.filter((deletion) => deletion.depth === 0)
    this.deletions = this.deletions.filter((deletion) => deletion.depth > 0)
    for (const deletion of dropped) {
      if (uploads.some((upload) => upload.maybeCommitted)) {
        this.binding.orphaned(
          deletion.key,
          deletion.storage,
          'superseded by a non-transactional save that failed part-way',
        )
      }
    }
    await this.deleteUploads(safe, 'delete-after-failed-statement')
  }

  /** A transaction (or savepoint) committed; `depth` is the depth after it. */
  async committed(depth: number): Promise<void> {
    if (depth > 0) {
      for (const item of [...this.uploads, ...this.deletions, ...this.settled])
        item.depth = Math.min(item.depth, depth)
      return
    }
    const deletions = this.deletions
    this.uploads = []
    this.deletions = []
    this.settled = []
    this.writes.clear()
    await this.deleteUnreferenced(deletions)
  }

  /** A transaction (or savepoint) rolled back; `depth` is the depth after it. */
  async rolledBack(depth: number): Promise<void> {
    this.failPendingWrites(depth + 1)
    const undone = this.settled.filter((write) => write.depth > depth)
    this.settled = this.settled.filter((write) => write.depth <= depth)
    for (const write of undone.reverse()) write.failed()
    const uploads = this.uploads.filter((upload) => upload.depth > depth)
    this.uploads = this.uploads.filter((upload) => upload.depth <= depth)
    this.deletions = this.deletions.filter((deletion) => deletion.depth <= depth)
    await this.deleteUploads(uploads, 'delete-after-rollback')
  }

  get idle(): boolean {
    return (
      !this.uploads.length && !this.deletions.length && !this.writes.size && !this.settled.length
    )
  }

  /** Puts back the properties of statements that never completed, at `minDepth` or deeper. */
  private failPendingWrites(minDepth: number): void {
    for (const [entity, list] of this.writes) {
      const failing = list.filter((write) => write.depth >= minDepth)
      for (const write of failing.reverse()) write.failed()
      const kept = list.filter((write) => write.depth < minDepth)
      if (kept.length) this.writes.set(entity, kept)
      else this.writes.delete(entity)
    }
  }

  private async deleteUploads(
    uploads: Upload[],
    operation: 'delete-after-rollback' | 'delete-after-failed-statement',
  ): Promise<void> {
    await Promise.all(
      uploads.map((upload) =>
        upload.storage
          .delete(upload.key)
          .catch((error: unknown) =>
            this.binding.report({ operation, key: upload.key, storage: upload.storage, error }),
          ),
      ),
    )
  }

  /** Deletes superseded objects, sparing any a committed row still references (shared or imported keys). */
  private async deleteUnreferenced(deletions: Deletion[]): Promise<void> {
    const done = new Map<AttributeStorage, Set<string>>()
    for (const { storage, key } of deletions) {
      let keys = done.get(storage)
      if (!keys) done.set(storage, (keys = new Set()))
      if (keys.has(key)) continue
      keys.add(key)
      try {
        if (await this.binding.isReferenced(storage, key)) continue
        await storage.delete(key)
      } catch (error) {
        this.binding.report({ operation: 'delete-after-commit', key, storage, error })
      }
    }
  }
}

const units = new WeakMap<QueryRunner, UnitOfWork>()

export function unitOfWork(queryRunner: QueryRunner, binding: StorageBinding): UnitOfWork {
  let unit = units.get(queryRunner)
  if (!unit) units.set(queryRunner, (unit = new UnitOfWork(binding)))
  return unit
}

export function existingUnitOfWork(queryRunner: QueryRunner | undefined): UnitOfWork | undefined {
  return queryRunner ? units.get(queryRunner) : undefined
}

/** 0 outside a transaction, 1 in one, more inside savepoints. */
export function transactionDepth(queryRunner: QueryRunner): number {
  if (!queryRunner.isTransactionActive) return 0
  const depth = (queryRunner as unknown as { transactionDepth?: number }).transactionDepth
  return typeof depth === 'number' && depth > 0 ? depth : 1
}
