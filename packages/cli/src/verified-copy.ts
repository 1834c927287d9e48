import {
  isAttrstoreError,
  type AttributeStorage,
  type Body,
  type KeyContext,
} from '@attrstore/core'
import { hashStream } from '@attrstore/core/driver'
import type { MigrationProblem } from './migration-report.js'
import type { Row } from './row-source.js'

/** A copy written to the destination and verified: its key and size. */
export interface Copy {
  key: string
  size: number
}

/** What a write for a row passes to the destination: the key context, and the media type. */
export interface RowWriteOptions {
  context: KeyContext
  contentType?: string | undefined
}

/** What the copies of a batch need from the migration. */
export interface CopyTarget {
  destination: AttributeStorage
  /** Abandons the batch: stops the source streams. */
  signal: AbortSignal | undefined
  writeOptions(row: Row): RowWriteOptions
  problem(row: Row, kind: MigrationProblem['kind'], detail: string, key?: string): void
}

/**
 * Re-reads a stored object and hashes what comes back: the check that a copy holds the
 * source's bytes (one GET on S3). Whether the storage's recorded SHA-256 is right too is
 * what `verify --checksums` checks.
 */
export async function rehash(
  storage: AttributeStorage,
  key: string,
  signal?: AbortSignal,
): Promise<{ size: number; sha256: string }> {
  const { size, sha256 } = await hashStream(await storage.readStream(key, signal ? { signal } : {}))
  return { size, sha256 }
}

/**
 * The copies one batch of a migration writes to the destination: each re-read and
 * compared before a row may name it, and all of them remembered, so that the ones no
 * committed row references (batch abandoned, row changed meanwhile) are deleted.
 */
export class BatchCopies {
  /** Every key written to the destination for this batch. */
  readonly written = new Set<string>()
  private readonly shared = new Map<string, Promise<Copy | undefined>>()

  constructor(private readonly target: CopyTarget) {}

  /** Writes `body` to the destination and re-reads it; undefined when it did not verify (problem reported). */
  async copy(
    row: Row,
    body: Body,
    expected: { size?: number | undefined; sha256?: string | undefined },
    sourceKey?: string,
  ): Promise<Copy | undefined> {
    const { destination, signal } = this.target
    let written
    try {
      // No abort signal for the write itself: an upload aborted in flight may still land on
      // the server with the caller never learning its key. Aborting stops the source stream
      // instead (the write then fails and stores nothing), or lets the write finish, and the
      // copy is deleted with the rest of the abandoned batch.
      written = await destination.write(body, {
        ...this.target.writeOptions(row),
        size: expected.size,
        sha256: expected.sha256,
      })
    } catch (error) {
      if (signal?.aborted) throw error
      if (isAttrstoreError(error, 'ATTRSTORE_INTEGRITY')) {
        this.target.problem(
          row,
          'corrupt',
          `the source does not match its recorded size or SHA-256: ${(error as Error).message}`,
          sourceKey,
        )
        return undefined
      }
      throw error
    }
    this.written.add(written.key)
    const check = await rehash(destination, written.key, signal)
    if (check.sha256 !== written.sha256 || check.size !== written.size) {
      this.target.problem(
        row,
        'corrupt',
        `the copy ${written.key} did not verify: stored ${check.size} bytes with SHA-256 ${check.sha256}, sent ${written.size} bytes with ${written.sha256}`,
        sourceKey,
      )
      return undefined
    }
    return { key: written.key, size: written.size }
  }

  /** The copy of a source object several rows of the batch name: made once, by the first. */
  copyOnce(sourceKey: string, make: () => Promise<Copy | undefined>): Promise<Copy | undefined> {
    let pending = this.shared.get(sourceKey)
    if (!pending) {
      pending = make()
      this.shared.set(sourceKey, pending)
    }
    return pending
  }

  /** Deletes the copies not in `kept`: those no committed row references. */
  async discard(kept: ReadonlySet<string> = new Set()): Promise<void> {
    const keys = [...this.written].filter((key) => !kept.has(key))
    if (keys.length) await this.target.destination.deleteMany(keys).catch(() => {})
  }
}
