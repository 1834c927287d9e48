import { ObjectNotFoundError, type AttributeStorage } from '@attrstore/core'
import type { QueryRunner } from 'typeorm'
import type { StorageBinding } from './registry.js'
import { currentOperation, type OperationScope } from './typeorm-hooks.js'

/**
 * What a transaction's (or, outside transactions, an operation's) work did to storages,
 * settled when its outcome is known: the rows of the transaction table in docs/architecture.md.
 *
 * - An upload is deleted if its transaction rolls back (or, outside a transaction, if its
 *   operation fails before anything was written), and also at commit if no statement
 *   confirmed it (a failed statement the caller caught, an update that matched no row) and
 *   no row references it.
 * - An object a statement superseded or removed is deleted only once that statement is
 *   committed, and only if no row still references it.
 * - An imported object is checked to still exist just before the commit.
 * - Imports and those post-commit deletions of one object exclude each other
 *   (`object-locks.ts`): a deletion re-checks the references under the lock.
 *
 * Items carry the transaction depth they were made at, so a rolled-back savepoint undoes
 * only its own work.
 */
interface Upload {
  storage: AttributeStorage
  key: string
  depth: number
  /** A statement that writes this key into a row succeeded. */
  confirmed: boolean
  /** Outside a transaction: a write statement succeeded since, so a row may hold it. */
  maybeCommitted: boolean
}

interface StoredKey {
  storage: AttributeStorage
  key: string
  depth: number
}

/** How to put an entity's property back, depending on its statement's outcome. */
export interface PropertyWrite {
  depth: number
  /** The upload this write made, if any. */
  upload?: Upload
  /** Whether the statement's success proves a row holds the upload (false for an update that matched no row). */
  confirms: boolean
  /** The statement succeeded: show the content again, remember the new key. */
  succeeded(): void
  /** The statement failed or was rolled back: put the user's value and our old state back. */
  failed(): void
}

type Operation = 'delete-after-rollback' | 'delete-after-failed-statement' | 'delete-after-commit'

export class UnitOfWork {
  private uploads: Upload[] = []
  private deletions: StoredKey[] = []
  private imports: StoredKey[] = []
  /** Writes whose statement has not completed yet, by entity object. */
  private readonly writes = new Map<object, PropertyWrite[]>()
  /** Writes whose statement succeeded inside a transaction that may still roll back. */
  private settled: PropertyWrite[] = []
  private readonly inFlight = new Set<Promise<unknown>>()
  /** Releases of the in-process import locks this work holds until it ends. */
  private importLocks: Array<() => void> = []

  /** `queryRunner`: outside transactions, the connection the operation ran on, if any. */
  constructor(
    private readonly binding: StorageBinding,
    private readonly queryRunner?: QueryRunner,
  ) {}

  /** An import lock held until the work ends (commit, rollback, end of the operation). */
  holdImportLock(release: () => void): void {
    this.importLocks.push(release)
  }

  private releaseImportLocks(): void {
    const locks = this.importLocks
    this.importLocks = []
    for (const release of locks) release()
  }

  /** Follows a write still in progress, so that no outcome is settled before it finishes. */
  track(work: Promise<unknown>): void {
    const followed = work.then(
      () => {},
      () => {},
    )
    this.inFlight.add(followed)
    void followed.then(() => this.inFlight.delete(followed))
  }

  private async quiesce(): Promise<void> {
    while (this.inFlight.size) await Promise.all([...this.inFlight])
  }

  uploaded(storage: AttributeStorage, key: string, depth: number): Upload {
    const upload = { storage, key, depth, confirmed: false, maybeCommitted: false }
    this.uploads.push(upload)
    return upload
  }

  imported(storage: AttributeStorage, key: string, depth: number): void {
    this.imports.push({ storage, key, depth })
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
      if (write.upload && write.confirms) write.upload.confirmed = true
      if (write.depth > 0) this.settled.push(write)
    }
  }

  /** Outside a transaction, a write statement succeeded: a row may now hold any upload so far. */
  writeStatementSucceeded(): void {
    for (const upload of this.uploads) if (upload.depth === 0) upload.maybeCommitted = true
  }

  /** An operation outside any transaction ended. */
  async operationEnded(succeeded: boolean): Promise<void> {
    await this.quiesce()
    this.releaseImportLocks() // the statements are over: committed, or failed
    if (succeeded) await this.settle(this.queryRunner)
    else await this.failOutsideTransaction()
  }

  /** Just before the outermost commit: imported objects must still exist. */
  async checkImports(): Promise<void> {
    for (const { storage, key } of this.imports) {
      if (!(await storage.exists(key))) {
        throw new ObjectNotFoundError(
          key,
          `The imported object ${JSON.stringify(key)} was deleted before the commit`,
        )
      }
    }
  }

  private commitRolledBack = false

  /** The database answered the COMMIT about to be reported with a rollback. */
  commitWasRolledBack(): void {
    this.commitRolledBack = true
  }

  /** A transaction (or savepoint) committed; `depth` is the depth after it. */
  async committed(depth: number, queryRunner: QueryRunner): Promise<void> {
    if (this.commitRolledBack) {
      this.commitRolledBack = false
      await this.rolledBack(depth)
      return
    }
    if (depth > 0) {
      for (const item of [...this.uploads, ...this.deletions, ...this.imports, ...this.settled]) {
        item.depth = Math.min(item.depth, depth)
      }
      return
    }
    this.releaseImportLocks() // after COMMIT, before this work's own deletions take theirs
    await this.settle(queryRunner)
  }

  /** A transaction (or savepoint) rolled back; `depth` is the depth after it. */
  async rolledBack(depth: number): Promise<void> {
    await this.quiesce()
    this.failPendingWrites(depth + 1)
    const undone = this.settled.filter((write) => write.depth > depth)
    this.settled = this.settled.filter((write) => write.depth <= depth)
    for (const write of undone.reverse()) write.failed()
    const uploads = this.uploads.filter((upload) => upload.depth > depth)
    this.uploads = this.uploads.filter((upload) => upload.depth <= depth)
    this.deletions = this.deletions.filter((deletion) => deletion.depth <= depth)
    this.imports = this.imports.filter((item) => item.depth <= depth)
    if (depth === 0) this.releaseImportLocks()
    await this.deleteAll(uploads, 'delete-after-rollback')
  }

  /** The work is committed: clean up what it superseded, and uploads no row took. */
  private async settle(queryRunner: QueryRunner | undefined): Promise<void> {
    this.failPendingWrites(0) // statements that never ran: their entities get their values back
    const { uploads, deletions } = this
    this.uploads = []
    this.deletions = []
    this.imports = []
    this.settled = []
    for (const upload of uploads) {
      if (!upload.confirmed) await this.deleteIfUnreferenced(upload, queryRunner)
    }
    const seen = new Map<AttributeStorage, Set<string>>()
    for (const deletion of deletions) {
      if (deletion.storage.autoDelete === false) continue // the storage keeps superseded objects
      let keys = seen.get(deletion.storage)
      if (!keys) seen.set(deletion.storage, (keys = new Set()))
      if (keys.has(deletion.key)) continue
      keys.add(deletion.key)
      await this.deleteIfUnreferenced(deletion, queryRunner)
    }
  }

  /**
   * Deletes a committed work's leftover if no row references it, checked and deleted under
   * the object's lock so that no import of it commits in between. One object at a time.
   */
  private async deleteIfUnreferenced(
    item: StoredKey,
    queryRunner: QueryRunner | undefined,
  ): Promise<void> {
    try {
      await this.binding.objectLocks.forDeletion(
        item.storage,
        item.key,
        queryRunner,
        async (runner) => {
          if (await this.isReferenced(item, runner)) return
          await item.storage
            .delete(item.key)
            .catch((error: unknown) => this.reportCleanupFailure(item, error))
        },
      )
    } catch (error) {
      // The lock could not be taken (connection lost): keep the object for the collector.
      this.reportCleanupFailure(item, error)
    }
  }

  /** Outside a transaction, the operation failed: delete what no row can hold. */
  private async failOutsideTransaction(): Promise<void> {
    this.failPendingWrites(0)
    this.releaseImportLocks()
    const uploads = this.uploads
    this.uploads = []
    this.deletions = []
    this.imports = []
    const partlyCommitted = uploads.some((upload) => upload.maybeCommitted)
    for (const upload of uploads) {
      if (upload.maybeCommitted) {
        this.binding.orphaned(
          upload.key,
          upload.storage,
          'a later statement of the same non-transactional operation failed',
        )
      }
    }
    if (partlyCommitted) return
    await this.deleteAll(uploads, 'delete-after-failed-statement')
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

  /** A clean-up after a commit failed: the object is left for the garbage collector. */
  private reportCleanupFailure(item: StoredKey, error: unknown): void {
    this.binding.report({
      operation: 'delete-after-commit',
      key: item.key,
      storage: item.storage,
      error,
    })
  }

  private async isReferenced(
    item: StoredKey,
    queryRunner: QueryRunner | undefined,
  ): Promise<boolean> {
    try {
      return await this.binding.isReferenced(item.storage, item.key, queryRunner)
    } catch (error) {
      this.reportCleanupFailure(item, error)
      return true // cannot tell: keep it, the garbage collector will decide
    }
  }

  private async deleteAll(items: StoredKey[], operation: Operation): Promise<void> {
    await Promise.all(
      items.map((item) =>
        item.storage
          .delete(item.key)
          .catch((error: unknown) =>
            this.binding.report({ operation, key: item.key, storage: item.storage, error }),
          ),
      ),
    )
  }
}

const transactionUnits = new WeakMap<QueryRunner, UnitOfWork>()
const operationUnits = new WeakMap<OperationScope, UnitOfWork>()

/**
 * The unit that records work done now through `queryRunner`: the transaction's when one is
 * active, else the current operation's (settled when the operation ends).
 */
export function unitOfWork(queryRunner: QueryRunner, binding: StorageBinding): UnitOfWork {
  if (transactionDepth(queryRunner) > 0) {
    let unit = transactionUnits.get(queryRunner)
    if (!unit) transactionUnits.set(queryRunner, (unit = new UnitOfWork(binding)))
    return unit
  }
  const scope = currentOperation()
  if (!scope)
    throw new Error(
      'attrstore: a write outside any TypeORM operation (this is a bug, please report it)',
    )
  let unit = operationUnits.get(scope)
  if (!unit) {
    const created = new UnitOfWork(binding, queryRunner)
    operationUnits.set(scope, created)
    scope.onEnd.push((succeeded) => created.operationEnded(succeeded))
    unit = created
  }
  return unit
}

/** The unit of a transaction on `queryRunner`, if it recorded anything. */
export function transactionUnit(queryRunner: QueryRunner | undefined): UnitOfWork | undefined {
  return queryRunner ? transactionUnits.get(queryRunner) : undefined
}

/** The unit of the current operation outside transactions, if it recorded anything. */
export function operationUnit(): UnitOfWork | undefined {
  const scope = currentOperation()
  return scope ? operationUnits.get(scope) : undefined
}

/** 0 outside a transaction, 1 in one, more inside savepoints. */
export function transactionDepth(queryRunner: QueryRunner): number {
  if (!queryRunner.isTransactionActive) return 0
  const depth = (queryRunner as unknown as { transactionDepth?: number }).transactionDepth
  return typeof depth === 'number' && depth > 0 ? depth : 1
}
