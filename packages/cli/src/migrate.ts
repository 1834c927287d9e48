import { type AttributeStorage, type KeyContext } from '@attrstore/core'
import { runBounded } from '@attrstore/core/driver'
import { storedColumns, type StoredAttributeOptions } from '@attrstore/typeorm'
import type { DataSource } from 'typeorm'
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js'
import { bindingLabel, resolveBindings, selectBindings, type Binding } from './bindings.js'
import type { ByteSource, MigrationContext, RowAction } from './byte-source.js'
import { ColumnSource } from './column-source.js'
import type { MigrateReport, MigrationProblem } from './migration-report.js'
import type { ProgressListener } from './progress.js'
import { assertColumnExists } from './schema-check.js'
import {
  formatPrimaryKey,
  parsePrimaryKey,
  type PrimaryKey,
  type Row,
  type RowSource,
} from './row-source.js'
import { describeStorage, StorageSource } from './storage-source.js'
import { TypeOrmRowSource } from './typeorm-row-source.js'
import { BatchCopies, type RowWriteOptions } from './verified-copy.js'

export type { MigrateReport, MigrationProblem } from './migration-report.js'

/** Where the bytes are now. */
export type MigrationSource =
  /** A column of the same table holding the bytes (`bytea`, `blob`...): the database name, or a mapped property. */
  | { column: string }
  /** The storage the attribute's keys point into now (the destination is the one registered). */
  | { storage: AttributeStorage }

export interface MigrateOptions {
  /** The registered stored attributes; default: those of the DataSource. */
  bindings?: readonly Binding[] | undefined
  /** The entity (class, table or target name) and the stored attribute to fill. */
  entity: string
  attribute: string
  from: MigrationSource
  /** Rows per batch, one transaction each. Default 200. Column sources hold a batch's bytes in memory. */
  batchSize?: number | undefined
  /** Objects copied at once. Default 4. */
  concurrency?: number | undefined
  /**
   * Delete the source copies: clears the source column in the same UPDATE that writes the
   * key (column source), or deletes the old objects once the batch has committed and no row
   * references them any more (storage source). Always after the copy was verified.
   */
  deleteSource?: boolean | undefined
  /** Count what would be done; change nothing. */
  dryRun?: boolean | undefined
  /** Skip rows up to this primary key (a value, or JSON for composite keys): an optimisation for resuming. */
  after?: PrimaryKey | string | undefined
  /** Abandon the current batch: abort copies in flight, delete them, commit nothing more. */
  signal?: AbortSignal | undefined
  /** Finish the current batch, commit it, then stop. */
  stopSignal?: AbortSignal | undefined
  onProgress?: ProgressListener | undefined
  onProblem?: ((problem: MigrationProblem) => void) | undefined
  /** Problems kept in the report (all are counted). Default 1000. */
  keepProblems?: number | undefined
}

/** The port of CubicWeb's `storage_changed`: see {@link migrate}. */
class Migration {
  readonly report: MigrateReport
  private readonly context: MigrationContext
  readonly source: ByteSource
  /** The stored attribute migrated into. */
  readonly binding: Binding
  /** The attribute's `@StoredAttribute()` options (content type, file name for keys). */
  private readonly attributeOptions: StoredAttributeOptions | undefined
  /** Columns read to rebuild each row's entity, when those options need one. */
  private readonly entityColumns: ColumnMetadata[]

  constructor(
    private readonly rows: RowSource,
    bindings: readonly Binding[],
    private readonly options: MigrateOptions,
  ) {
    const binding = selectBindings(bindings, {
      entity: options.entity,
      attribute: options.attribute,
    })[0]!
    this.binding = binding
    const { metadata, column, storage } = binding
    const keep = options.keepProblems ?? 1000
    this.report = {
      attribute: bindingLabel(binding),
      source: '',
      destination: describeStorage(storage),
      dryRun: options.dryRun === true,
      scanned: 0,
      copied: 0,
      bytes: 0,
      alreadyMigrated: 0,
      sourceDeleted: 0,
      changedConcurrently: 0,
      problemCount: 0,
      problems: [],
      complete: true,
    }
    this.context = {
      binding,
      destination: storage,
      rows,
      deleteSource: options.deleteSource === true,
      signal: options.signal,
      report: this.report,
      problem: (row, kind, detail, key) => {
        const problem: MigrationProblem = {
          kind,
          id: formatPrimaryKey(metadata, row.id),
          detail,
          ...(key === undefined ? {} : { key }),
        }
        this.report.problemCount++
        if (this.report.problems.length < keep) this.report.problems.push(problem)
        options.onProblem?.(problem)
      },
    }
    const source: ByteSource =
      'column' in options.from
        ? new ColumnSource(this.context, options.from.column)
        : new StorageSource(this.context, options.from.storage, bindings)
    this.source = source
    this.report.source = source.description
    this.attributeOptions = storedColumns(metadata).find(
      (stored) => stored.column === column,
    )?.options
    const needsEntity =
      typeof this.attributeOptions?.fileName === 'function' ||
      typeof this.attributeOptions?.contentType === 'function'
    this.entityColumns = needsEntity
      ? metadata.columns.filter(
          (c) =>
            !c.isVirtual &&
            c.databaseName !== column.databaseName &&
            !source.columns.includes(c.databaseName),
        )
      : []
  }

  /** What a write for `row` passes to the storage: the key context, and the media type. */
  private writeOptions(row: Row): RowWriteOptions {
    const { binding } = this.context
    const context: KeyContext = {
      entityName: binding.metadata.name,
      attributeName: binding.column.propertyPath,
    }
    const options = this.attributeOptions
    let contentType = typeof options?.contentType === 'string' ? options.contentType : undefined
    if (row.entity) {
      // The row as an entity, for the attribute's fileName / contentType functions.
      const entity = row.entity
      context.entity = entity
      const fileName = options?.fileName?.(entity)
      if (fileName) context.fileName = fileName
      if (typeof options?.contentType === 'function')
        contentType = options.contentType(entity) ?? undefined
    }
    return { context, contentType }
  }

  async run(): Promise<MigrateReport> {
    const { binding } = this.context
    const { metadata } = binding
    const { options, source } = this
    const after =
      typeof options.after === 'string' ? parsePrimaryKey(metadata, options.after) : options.after
    const task = `migrate ${bindingLabel(binding)}`
    // A scan of every row: only when someone shows progress.
    const total = options.onProgress ? await this.rows.count(binding, source.pending) : 0
    options.onProgress?.({ task, unit: 'rows', done: 0, total, bytes: 0 })
    const pages = this.rows.pages({
      attribute: binding,
      columns: source.columns,
      entityColumns: this.entityColumns,
      where: source.pending,
      batchSize: options.batchSize ?? 200,
      after,
    })
    const progress = (finished: boolean): void =>
      options.onProgress?.({
        task,
        unit: 'rows',
        done: this.report.scanned,
        total,
        bytes: this.report.bytes,
        ...(finished ? { finished: true } : {}),
      })
    try {
      for await (const page of pages) {
        if (options.signal?.aborted || options.stopSignal?.aborted) {
          this.report.complete = false
          break
        }
        const committed = this.report.dryRun ? await this.plan(page) : await this.migrateBatch(page)
        if (!committed) {
          this.report.complete = false
          break
        }
        this.report.scanned += page.length
        this.report.lastCommitted = formatPrimaryKey(metadata, page[page.length - 1]!.id)
        progress(false)
        if (options.stopSignal?.aborted) {
          this.report.complete = false
          break
        }
      }
    } finally {
      progress(true)
    }
    return this.report
  }

  /** Copies, verifies, commits one batch. Returns false when abandoned (nothing committed). */
  private async migrateBatch(page: Row[]): Promise<boolean> {
    const { signal } = this.options
    const { binding } = this.context
    const copies = new BatchCopies({
      destination: this.context.destination,
      signal,
      writeOptions: (row) => this.writeOptions(row),
      problem: this.context.problem,
    })
    const actions: RowAction[] = []
    try {
      await runBounded(
        page,
        this.options.concurrency ?? 4,
        async (row) => {
          const action = await this.source.migrateRow(row, copies)
          if (action) actions.push(action)
        },
        signal,
      )
    } catch (error) {
      await copies.discard()
      if (signal?.aborted) return false
      throw error
    }
    if (signal?.aborted) {
      await copies.discard()
      return false
    }

    // Commit the batch: each row's update applies only if its key column is still as read.
    const writes = actions.filter((action) => Object.keys(action.set).length)
    const applied = new Set<RowAction>(actions.filter((action) => !Object.keys(action.set).length))
    if (writes.length) {
      let outcome: boolean[]
      try {
        outcome = await this.rows.updateRows(
          binding,
          writes.map((action) => ({
            id: action.row.id,
            set: action.set,
            expect: { column: binding.column.databaseName, value: action.expect },
          })),
        )
      } catch (error) {
        await copies.discard()
        throw error
      }
      writes.forEach((action, i) => outcome[i] && applied.add(action))
    }

    // Committed. Account, and clean up what is no longer needed.
    const used = new Set<string>()
    for (const action of actions) {
      if (!applied.has(action)) {
        this.report.changedConcurrently++
        continue
      }
      if (action.copy) {
        used.add(action.copy)
        this.report.copied++
        this.report.bytes += action.bytes
      }
    }
    await copies.discard(used)
    await this.source.committed(actions.filter((action) => applied.has(action)))
    return true
  }

  /** Counts what a batch would do. */
  private async plan(page: Row[]): Promise<boolean> {
    await runBounded(page, this.options.concurrency ?? 4, (row) => this.source.planRow(row))
    return true
  }
}

/**
 * Moves the bytes of a stored attribute into its registered storage (the port of
 * CubicWeb's `storage_changed` / `migrate_entity`), from a column of the same table holding
 * the bytes, or from the storage the keys point into now.
 *
 * In batches of rows in primary-key order (keyset pagination: constant memory), each
 * committed in its own transaction. For each row: copy, re-read the copy and compare its
 * SHA-256 with the source's, and only then, in the batch's transaction, write the new key
 * (`UPDATE ... WHERE pk = :id AND <column still as read>`). Source copies are deleted only
 * when asked, only once verified, and (storage source) only after the commit and when no
 * row references them any more.
 *
 * Resumable without a state table: the rows themselves say what is done. Column source:
 * a row is done when its stored attribute is not null (the filter of the scan). Storage
 * source: a row is done when its key is not in the source storage but in the destination.
 * A run stopped at any point (Ctrl-C, kill -9, a crash) leaves committed batches done and
 * the current one untouched; running it again continues. What a killed run had uploaded
 * for its uncommitted batch is unreferenced: `gc` collects it.
 */
export async function migrate(
  dataSource: DataSource,
  options: MigrateOptions,
): Promise<MigrateReport> {
  const migration = new Migration(
    new TypeOrmRowSource(dataSource),
    resolveBindings(dataSource, options.bindings),
    options,
  )
  const { source, binding } = migration
  if (source instanceof ColumnSource)
    await assertColumnExists(dataSource, binding.metadata, source.column, '--from-column')
  return migration.run()
}
