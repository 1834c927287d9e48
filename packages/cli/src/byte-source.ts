import type { AttributeStorage } from '@attrstore/core'
import type { Binding } from './bindings.js'
import type { MigrateReport, MigrationProblem } from './migration-report.js'
import type { ColumnCondition, Row, RowSource } from './row-source.js'
import type { BatchCopies } from './verified-copy.js'

/**
 * Where a migration reads each row's bytes from (a column of the row, or the storage its
 * key points into now): which rows are still to do, how to copy a row's bytes, and what to
 * clear or delete once the rows name their copies. The migration's batch loop is the same
 * for every source.
 */
export interface ByteSource {
  /** `column legacy_body`, or the source storage's location: the report's `source`. */
  readonly description: string
  /** The rows still to look at. */
  readonly pending: readonly ColumnCondition[]
  /** Columns to read with each row besides the key, by database name. */
  readonly columns: readonly string[]
  /**
   * Copies one row's bytes to the destination (verified) and says what to write in the
   * row; undefined when there is nothing to write (done already, or a problem reported).
   */
  migrateRow(row: Row, copies: BatchCopies): Promise<RowAction | undefined>
  /** Dry run: counts in the report what {@link migrateRow} would do. */
  planRow(row: Row): Promise<void>
  /** Once a batch committed, with the actions that applied: clears or deletes the source copies. */
  committed(applied: readonly RowAction[]): Promise<void>
}

/** What a row's migration decided, applied in the batch's transaction. */
export interface RowAction {
  row: Row
  /** Column values to set, by database name (none: nothing to write for this row). */
  set: Record<string, string | null>
  /** The key column's value when read: the update is a no-op if the row changed since. */
  expect: string | null
  /** The new object, when one was written for this row. */
  copy?: string
  /** The old object to delete once committed (storage source with deleteSource). */
  oldKey?: string
  bytes: number
}

/** What a source works with: the migration's destination, options, rows and report. */
export interface MigrationContext {
  /** The stored attribute migrated into. */
  binding: Binding
  destination: AttributeStorage
  rows: RowSource
  deleteSource: boolean
  /** Abandons the batch. */
  signal: AbortSignal | undefined
  report: MigrateReport
  problem(row: Row, kind: MigrationProblem['kind'], detail: string, key?: string): void
}
