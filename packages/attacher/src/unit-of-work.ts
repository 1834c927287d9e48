import { ObjectNotFoundError, type AttributeStorage } from '@attrstore/core'
import type { AttacherHost, CleanupFailure } from './ports.js'

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
export interface Upload {
  storage: AttributeStorage
  key: string
  depth: number
  /** A statement that writes this key into a row succeeded. */
  confirmed: boolean
  /** Outside a transaction: a write statement succeeded since, so a row may hold it. */
  maybeCommitted: boolean
  /**
   * Told once when the work is done with the upload: `kept` when a committed row may hold
   * it, false when it was deleted (rolled back, or failed outside a transaction). A staged
   * upload's handle learns its fate this way.
   */
  ended?: ((kept: boolean) => void) | undefined
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

type Operation = CleanupFailure['operation']

/**
 * One transaction's (or one operation's) record of storage work. The adapter creates one
 * per transaction (and, outside transactions, per operation) and calls, from its ORM's
 * events: {@link statementSucceeded} after each insert/update of an entity,
 * {@link writeStatementSucceeded} after any write statement outside a transaction,
 * {@link checkImports} before the outermost COMMIT, {@link committed} / {@link rolledBack}
 * after each COMMIT / ROLLBACK (savepoints included), {@link operationEnded} when an
 * operation outside any transaction ends.
 */
export class UnitOfWork<Connection> {
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
  /** The objects (by identity) this work claimed uploads of: each once, until it ends. */
  private claims = new Set<string>()

  /** `connection`: outside transactions, the connection the operation ran on, if any. */
  constructor(
    private readonly host: AttacherHost<Connection>,
    private readonly connection?: Connection,
  ) {}

  /** An import lock held until the work ends (commit, rollback, end of the operation). */
  holdImportLock(release: () => void): void {
    this.importLocks.push(release)
  }

  /**
   * Records a claim of the uploaded object `identity`; false when this work already
   * claims it (its claim lock is this work's own: taking it again would not exclude).
   */
  beginClaim(identity: string): boolean {
    if (this.claims.has(identity)) return false
    this.claims.add(identity)
    return true
  }

  private releaseImportLocks(): void {
    this.claims = new Set()
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

  uploaded(
    storage: AttributeStorage,
    key: string,
    depth: number,
    ended?: (kept: boolean) => void,
  ): Upload {
    const upload = { storage, key, depth, confirmed: false, maybeCommitted: false, ended }
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
    if (succeeded) await this.settle(this.connection)
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
  async committed(depth: number, connection: Connection): Promise<void> {
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
    await this.settle(connection)
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
    for (const upload of uploads) upload.ended?.(false)
    await this.deleteAll(uploads, 'delete-after-rollback')
  }

  /** The work is committed: clean up what it superseded, and uploads no row took. */
  private async settle(connection: Connection | undefined): Promise<void> {
    this.failPendingWrites(0) // statements that never ran: their entities get their values back
    const { uploads, deletions } = this
    this.uploads = []
    this.deletions = []
    this.imports = []
    this.settled = []
    // Per storage, each key once: uploads no row took, then what statements superseded.
    const candidates = new Map<AttributeStorage, Set<string>>()
    const add = (storage: AttributeStorage, key: string): void => {
      const keys = candidates.get(storage)
      if (!keys) candidates.set(storage, new Set([key]))
      else keys.add(key)
    }
    for (const upload of uploads) {
      upload.ended?.(upload.confirmed)
      if (!upload.confirmed) add(upload.storage, upload.key)
    }
    for (const deletion of deletions) {
      // The storage keeps superseded objects.
      if (deletion.storage.autoDelete !== false) add(deletion.storage, deletion.key)
    }
    for (const [storage, keys] of candidates)
      await this.deleteUnreferenced(storage, [...keys], connection)
  }

  /**
   * Deletes the objects of `keys` no row references. Where the adapter can, with one
   * reference query per column for all the keys whose lock was free (and one batch
   * delete); the others, one at a time, waiting for their lock.
   */
  private async deleteUnreferenced(
    storage: AttributeStorage,
    keys: string[],
    connection: Connection | undefined,
  ): Promise<void> {
    const { objectLocks } = this.host
    let left = keys
    if (keys.length > 1 && this.host.referencedAmong && objectLocks.forDeletions) {
      try {
        left = await objectLocks.forDeletions(storage, keys, connection, async (locked, held) => {
          let referenced: Set<string>
          try {
            referenced = await this.host.referencedAmong!(storage, locked, held)
          } catch (error) {
            for (const key of locked) this.reportCleanupFailure({ storage, key }, error)
            referenced = new Set(locked) // cannot tell: keep them, the garbage collector will decide
          }
          await this.deleteMany(
            storage,
            locked.filter((key) => !referenced.has(key)),
          )
          const done = new Set(locked)
          return keys.filter((key) => !done.has(key))
        })
      } catch (error) {
        // The locks could not be taken (connection lost): keep the objects for the collector.
        for (const key of keys) this.reportCleanupFailure({ storage, key }, error)
        return
      }
    }
    for (const key of left) await this.deleteIfUnreferenced({ storage, key }, connection)
  }

  /** One batch delete; where it fails, each object alone, so each failure names its key. */
  private async deleteMany(storage: AttributeStorage, keys: string[]): Promise<void> {
    if (!keys.length) return
    try {
      await storage.deleteMany(keys)
      return
    } catch {
      // Told key by key below.
    }
    for (const key of keys) {
      await storage
        .delete(key)
        .catch((error: unknown) => this.reportCleanupFailure({ storage, key }, error))
    }
  }

  /**
   * Deletes a committed work's leftover if no row references it, checked and deleted under
   * the object's lock so that no import of it commits in between. One object at a time.
   */
  private async deleteIfUnreferenced(
    item: Pick<StoredKey, 'storage' | 'key'>,
    connection: Connection | undefined,
  ): Promise<void> {
    try {
      await this.host.objectLocks.forDeletion(item.storage, item.key, connection, async (held) => {
        if (await this.isReferenced(item, held)) return
        await item.storage
          .delete(item.key)
          .catch((error: unknown) => this.reportCleanupFailure(item, error))
      })
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
    for (const upload of uploads) upload.ended?.(partlyCommitted)
    for (const upload of uploads) {
      if (upload.maybeCommitted) {
        this.host.orphaned(
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
  private reportCleanupFailure(item: Pick<StoredKey, 'storage' | 'key'>, error: unknown): void {
    this.host.report({
      operation: 'delete-after-commit',
      key: item.key,
      storage: item.storage,
      error,
    })
  }

  private async isReferenced(
    item: Pick<StoredKey, 'storage' | 'key'>,
    connection: Connection | undefined,
  ): Promise<boolean> {
    try {
      return await this.host.isReferenced(item.storage, item.key, connection)
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
            this.host.report({ operation, key: item.key, storage: item.storage, error }),
          ),
      ),
    )
  }
}
