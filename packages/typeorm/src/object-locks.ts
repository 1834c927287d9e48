import { createHash } from 'node:crypto'
import {
  InProcessObjectLocks,
  localObjectLock,
  objectIdentity,
  tryObjectLocks,
  type ClaimLock,
  type ObjectLocks,
} from '@attrstore/attacher'
import type { AttributeStorage } from '@attrstore/core'
import type { DataSource, QueryRunner } from 'typeorm'

export { waitingObjectLocks } from '@attrstore/attacher'

/**
 * Keeps two check-then-act sequences on one object from interleaving:
 *
 * - an import ("the object exists" → a row that references it is committed), and
 * - a clean-up after a commit ("no row references the object" → it is deleted).
 *
 * Interleaved, an import could check the object, a clean-up check the rows (the import's
 * row is not committed yet, so invisible) and delete the object, and the import then
 * commit a row whose object is gone. So both take a lock on the object itself: imports a
 * shared one, held until their work ends (their existence checks run under it), clean-ups
 * an exclusive one around "re-check the rows, delete". Whichever comes second waits: a
 * clean-up then sees the import's committed row and keeps the object; an import then finds
 * the object gone and fails.
 *
 * - PostgreSQL: advisory locks on a 64-bit hash of (storage location, object key). An
 *   import in a transaction takes `pg_advisory_xact_lock_shared` (released by COMMIT or
 *   ROLLBACK); a clean-up takes `pg_advisory_lock` on the connection it already holds
 *   (the committed transaction's, so no second pool connection is needed) and unlocks it.
 *   This holds across processes.
 * - Everywhere else (SQLite, and imports outside a transaction on PostgreSQL): an
 *   in-process lock with the same identity (`@attrstore/attacher`), which clean-ups take
 *   too. It does not reach other processes: see the package README.
 *
 * No deadlock: imports only take shared locks, which never wait for each other (PostgreSQL
 * resolves a shared request queued behind a waiting clean-up by reordering its queue); a
 * clean-up holds one object's locks at a time, takes its connection before them, and
 * while holding them waits for nothing but the other lock of the same object, plain
 * SELECTs and the storage's delete. A transaction holding an import lock never waits for
 * an in-process lock or a second connection before its commit.
 */
export class TypeOrmObjectLocks implements ObjectLocks<QueryRunner> {
  private readonly local = new InProcessObjectLocks<QueryRunner>()

  constructor(private readonly dataSource: DataSource) {}

  private get advisory(): boolean {
    return this.dataSource.options.type === 'postgres'
  }

  /**
   * Takes the import lock of the object `reference` addresses, before its existence is
   * checked. Returns the release of an in-process hold, to call when the work ends
   * (commit, rollback, end of the operation); undefined when the database releases it.
   */
  async forImport(
    storage: AttributeStorage,
    reference: string,
    queryRunner: QueryRunner,
    inTransaction: boolean,
  ): Promise<(() => void) | undefined> {
    if (this.advisory && inTransaction) {
      const id = lockId(objectIdentity(storage, reference))
      await queryRunner.query('SELECT pg_advisory_xact_lock_shared($1::bigint)', [id])
      return undefined
    }
    // The connection first, then the lock, as clean-ups do: they wait for this lock while
    // holding connections, so waiting for one of those under it (the statement of an
    // insert outside a transaction connects lazily) deadlocks once the pool is used up.
    if (!queryRunner.isReleased) await queryRunner.connect()
    return this.local.forImport(storage, reference)
  }

  /**
   * Takes the claim lock of an uploaded object, exclusive, or reports it busy without
   * waiting: `pg_try_advisory_xact_lock` in a PostgreSQL transaction (released by COMMIT or
   * ROLLBACK; it excludes imports and clean-ups of the object too), else the in-process
   * lock. Two transactions claiming one upload: the second is refused at once, so exactly
   * one can commit; a later claim finds the first one's row.
   */
  async forClaim(
    storage: AttributeStorage,
    reference: string,
    queryRunner: QueryRunner,
    inTransaction: boolean,
  ): Promise<ClaimLock> {
    if (this.advisory && inTransaction) {
      const id = lockId(objectIdentity(storage, reference))
      const rows = (await queryRunner.query(
        'SELECT pg_try_advisory_xact_lock($1::bigint) AS locked',
        [id],
      )) as Array<{ locked: boolean }>
      return { acquired: rows[0]?.locked === true }
    }
    if (!queryRunner.isReleased) await queryRunner.connect()
    return this.local.forClaim(storage, reference)
  }

  /**
   * Runs `task` (re-check the references of `reference`, delete its object) while no import
   * of the same object is in progress, and none can start. `queryRunner`: a connection to
   * use for the advisory lock, when one is held and idle; else one is taken for the time.
   */
  async forDeletion<T>(
    storage: AttributeStorage,
    reference: string,
    queryRunner: QueryRunner | undefined,
    task: (queryRunner: QueryRunner | undefined) => Promise<T>,
  ): Promise<T> {
    if (!this.advisory) return this.local.forDeletion(storage, reference, queryRunner, task)
    const identity = objectIdentity(storage, reference)
    // The connection first, then the locks: waiting for the pool while holding a lock that
    // pool holders wait for (their own clean-ups, imports outside transactions) deadlocks.
    const held = queryRunner && !queryRunner.isReleased ? queryRunner : undefined
    const own = held ? undefined : this.dataSource.createQueryRunner()
    const connection = held ?? own!
    try {
      if (own) await own.connect()
      const release = await localObjectLock(identity, true)
      try {
        const id = lockId(identity)
        await connection.query('SELECT pg_advisory_lock($1::bigint)', [id])
        try {
          return await task(connection)
        } finally {
          await connection.query('SELECT pg_advisory_unlock($1::bigint)', [id])
        }
      } finally {
        release()
      }
    } finally {
      await own?.release()
    }
  }

  /**
   * {@link forDeletion} for many objects, without waiting (see the port): the in-process
   * and the advisory lock of each object that is free now, taken with one query
   * (`pg_try_advisory_lock`); the others are left to the caller.
   */
  async forDeletions<T>(
    storage: AttributeStorage,
    references: readonly string[],
    queryRunner: QueryRunner | undefined,
    task: (locked: string[], queryRunner: QueryRunner | undefined) => Promise<T>,
  ): Promise<T> {
    if (!this.advisory) return this.local.forDeletions(storage, references, queryRunner, task)
    const held = queryRunner && !queryRunner.isReleased ? queryRunner : undefined
    const own = held ? undefined : this.dataSource.createQueryRunner()
    const connection = held ?? own!
    try {
      if (own) await own.connect()
      const local = tryObjectLocks(storage, references)
      try {
        const identities = [...local.identities.keys()]
        const ids = identities.map(lockId)
        const answers: Array<{ n: string; locked: boolean }> = ids.length
          ? await connection.query(
              'SELECT n, pg_try_advisory_lock(id) AS locked FROM unnest($1::bigint[]) WITH ORDINALITY AS l(id, n)',
              [ids],
            )
          : []
        const taken = new Set(answers.filter((row) => row.locked).map((row) => Number(row.n) - 1))
        const locked = identities.flatMap((identity, index) =>
          taken.has(index) ? local.identities.get(identity)! : [],
        )
        try {
          return await task(locked, connection)
        } finally {
          if (taken.size)
            await connection.query(
              'SELECT pg_advisory_unlock(id) FROM unnest($1::bigint[]) AS l(id)',
              [ids.filter((_, index) => taken.has(index))],
            )
        }
      } finally {
        local.release()
      }
    } finally {
      await own?.release()
    }
  }
}

/** A signed 64-bit advisory lock id, as PostgreSQL's bigint. */
function lockId(identity: string): string {
  return createHash('sha256')
    .update(`attrstore\u0000${identity}`)
    .digest()
    .readBigInt64BE(0)
    .toString()
}
