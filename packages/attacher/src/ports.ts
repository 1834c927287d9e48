/**
 * What an ORM adapter provides to the ORM-neutral attacher. `Connection` is whatever the
 * ORM runs statements on (TypeORM: a `QueryRunner`): the attacher never looks inside it,
 * it only hands it back to the adapter, so that a check made while a connection is held
 * runs on that connection instead of waiting for a second one from the pool.
 */
import type { AttributeStorage } from '@attrstore/core'
import type { UploadTokens } from './upload-tokens.js'

/** Something attrstore could not clean up; the object is left for garbage collection. */
export interface CleanupFailure {
  /** What was being done: deleting a superseded/removed object after commit, or an upload after rollback. */
  operation: 'delete-after-commit' | 'delete-after-rollback' | 'delete-after-failed-statement'
  key: string
  storage: AttributeStorage
  error: unknown
}

/** Where rows reference objects: the database side of "may this object be deleted". */
export interface ReferenceIndex<Connection> {
  /**
   * Whether any row (soft-deleted ones included) of any entity whose storage addresses the
   * same place as `storage` holds a reference to the object `key` addresses: `key` itself,
   * or any reference with the same object key (`storage.objectKey`). Runs on `connection`
   * when given.
   */
  isReferenced(storage: AttributeStorage, key: string, connection?: Connection): Promise<boolean>
  /**
   * Of `keys`, the ones still referenced, each as {@link isReferenced} would tell, asked at
   * once: one query per entity and column using the storage (per slice of keys), where
   * {@link isReferenced} costs one per key. Optional: without it, a unit of work asks
   * {@link isReferenced} key by key.
   */
  referencedAmong?(
    storage: AttributeStorage,
    keys: readonly string[],
    connection?: Connection,
  ): Promise<Set<string>>
  /**
   * Inside a transaction that just imported `key`: keeps the rows that hold it from being
   * deleted by another transaction until this one ends (row locks), where the object locks
   * do not already cover that. May do nothing.
   */
  lockReferences(storage: AttributeStorage, key: string, connection: Connection): Promise<void>
}

/**
 * Keeps an import of an object and a post-commit deletion of the same object from
 * interleaving (see `object-locks.ts`). Database-wide locks (PostgreSQL advisory locks)
 * belong to the adapter; `InProcessObjectLocks` is the in-process fallback.
 */
export interface ObjectLocks<Connection> {
  /**
   * Takes the shared import lock of the object `reference` addresses, before its existence
   * is checked. Returns the release of a hold the attacher must end when the work ends
   * (commit, rollback, end of the operation); undefined when the database releases it.
   */
  forImport(
    storage: AttributeStorage,
    reference: string,
    connection: Connection,
    inTransaction: boolean,
  ): Promise<(() => void) | undefined>
  /**
   * Runs `task` (re-check the references of `reference`, delete its object) under the
   * object's exclusive lock. `connection`: one held and idle, if any; `task` is given the
   * connection to check references on.
   */
  forDeletion<T>(
    storage: AttributeStorage,
    reference: string,
    connection: Connection | undefined,
    task: (connection: Connection | undefined) => Promise<T>,
  ): Promise<T>
  /**
   * Takes the exclusive claim lock of the uploaded object `reference` addresses, held
   * until the work ends, or reports it busy: a claim never waits for another claim (two
   * transactions claiming each other's uploads would wait forever). `release`: the end of
   * an in-process hold, for the attacher to call when the work ends; absent when the
   * database releases it.
   */
  forClaim(
    storage: AttributeStorage,
    reference: string,
    connection: Connection,
    inTransaction: boolean,
  ): Promise<ClaimLock>
  /**
   * {@link forDeletion} for many objects at once, without waiting: takes the exclusive lock
   * of each object of `references` that is free now, runs `task` with the references whose
   * lock it holds, then releases them. The others are left to the caller (for
   * {@link forDeletion}, one at a time): a clean-up that waited for a lock while holding
   * others could deadlock with an import that holds them shared. Optional: without it, a
   * unit of work takes the locks one object at a time.
   */
  forDeletions?<T>(
    storage: AttributeStorage,
    references: readonly string[],
    connection: Connection | undefined,
    task: (locked: string[], connection: Connection | undefined) => Promise<T>,
  ): Promise<T>
}

/** The outcome of {@link ObjectLocks.forClaim}. */
export type ClaimLock = { acquired: false } | { acquired: true; release?: () => void }

/** Where clean-up failures and possible orphans are told (the adapter's events). */
export interface CleanupReporter {
  /** A clean-up failed; the user's work is not failed for it. */
  report(failure: CleanupFailure): void
  /** An object may be orphaned and is left for the garbage collector. */
  orphaned(key: string, storage: AttributeStorage, reason: string): void
}

/** Everything a unit of work needs from its adapter. */
export interface AttacherHost<Connection> extends ReferenceIndex<Connection>, CleanupReporter {
  readonly objectLocks: ObjectLocks<Connection>
  /** What checks the tokens of claimed direct uploads, when the application configured it. */
  readonly uploadTokens?: UploadTokens | undefined
}
