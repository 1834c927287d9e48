import {
  ConfigurationError,
  isAttrstoreError,
  runBounded,
  sha256Hex,
  type AttributeStorage,
  type Body,
  type KeyContext,
  type ObjectStat,
} from '@attrstore/core'
import { createHash } from 'node:crypto'
import { storedColumns, type StoredAttributeOptions } from '@attrstore/typeorm'
import type { DataSource, ObjectLiteral, QueryRunner } from 'typeorm'
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js'
import {
  bindingLabel,
  resolveBindings,
  sameStore,
  selectBindings,
  storageLocation,
  type Binding,
} from './bindings.js'
import { settleBounded } from './bounded.js'
import type { ProgressListener } from './progress.js'
import { referencedByAny } from './references.js'
import {
  assertIdentifier,
  columnSql,
  countRows,
  formatPrimaryKey,
  keysetPages,
  parsePrimaryKey,
  updateAll,
  updateEach,
  type Condition,
  type RowUpdate,
  type PrimaryKey,
  type ScannedRow,
} from './rows.js'

/** Where the bytes are now. */
export type MigrationSource =
  /** A column of the same table holding the bytes (`bytea`, `blob`...): the database name, or a mapped property. */
  | { column: string }
  /** The storage the attribute's keys point into now (the destination is the one registered). */
  | { storage: AttributeStorage }

export interface MigrateOptions {
  /** The registered stored attributes; default: those of the DataSource. */
  bindings?: readonly Binding[]
  /** The entity (class, table or target name) and the stored attribute to fill. */
  entity: string
  attribute: string
  from: MigrationSource
  /** Rows per batch, one transaction each. Default 200. Column sources hold a batch's bytes in memory. */
  batchSize?: number
  /** Objects copied at once. Default 4. */
  concurrency?: number
  /**
   * Delete the source copies: clears the source column in the same UPDATE that writes the
   * key (column source), or deletes the old objects once the batch has committed and no row
   * references them any more (storage source). Always after the copy was verified.
   */
  deleteSource?: boolean
  /** Count what would be done; change nothing. */
  dryRun?: boolean
  /** Skip rows up to this primary key (a value, or JSON for composite keys): an optimisation for resuming. */
  after?: PrimaryKey | string
  /** Abandon the current batch: abort copies in flight, delete them, commit nothing more. */
  signal?: AbortSignal
  /** Finish the current batch, commit it, then stop. */
  stopSignal?: AbortSignal
  onProgress?: ProgressListener
  onProblem?: (problem: MigrationProblem) => void
  /** Problems kept in the report (all are counted). Default 1000. */
  keepProblems?: number
}

export interface MigrationProblem {
  /**
   * `missing`: the source has no bytes for a row that should have them; `corrupt`: the
   * source does not match its recorded SHA-256, or the copy did not verify; `conflict`: the
   * row already has an object that differs from its source; `error`: anything else.
   */
  kind: 'missing' | 'corrupt' | 'conflict' | 'error'
  id: string
  key?: string
  detail: string
}

export interface MigrateReport {
  /** `Document.body` */
  attribute: string
  /** `column legacy_body` or the source storage's location. */
  source: string
  destination: string
  dryRun: boolean
  /** Rows looked at. */
  scanned: number
  /** Rows given a new key (dry run: that would be). */
  copied: number
  /** Bytes copied (dry run: that would be). */
  bytes: number
  /** Rows already done by an earlier run, left alone. */
  alreadyMigrated: number
  /** Source copies deleted: objects, or column values cleared (dry run: that would be). */
  sourceDeleted: number
  /** Rows changed by someone else between read and update: left as they were, their copy deleted. */
  changedConcurrently: number
  problemCount: number
  problems: MigrationProblem[]
  /** False when stopped by a signal. */
  complete: boolean
  /** Primary key of the last row of the last committed batch (`--after` to resume from there). */
  lastCommitted?: string
}

/** What a row's job decided, applied in the batch's transaction. */
interface RowAction {
  row: ScannedRow
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

function describeStorage(storage: AttributeStorage): string {
  return storageLocation(storage) ?? storage.constructor?.name ?? 'storage'
}

function toBytes(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  return undefined
}

/**
 * Re-reads a stored object and hashes what comes back: the check that a copy holds the
 * source's bytes (one GET on S3). Whether the storage's recorded SHA-256 is right too is
 * what `verify --checksums` checks.
 */
async function rehash(
  storage: AttributeStorage,
  key: string,
  signal?: AbortSignal,
): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of await storage.readStream(key, signal ? { signal } : {})) {
    hash.update(chunk as Buffer)
    size += (chunk as Buffer).length
  }
  return { size, sha256: hash.digest('hex') }
}

const notFound = (error: unknown): boolean => isAttrstoreError(error, 'ATTRSTORE_NOT_FOUND')

/** The port of CubicWeb's `storage_changed`: see {@link migrate}. */
class Migration {
  readonly report: MigrateReport
  private readonly binding: Binding
  private readonly destination: AttributeStorage
  private readonly keySql: string
  private readonly sourceSql: string | undefined
  private readonly sourceColumn: string | undefined
  private readonly sourceStorage: AttributeStorage | undefined
  private readonly sourceUsers: Binding[]
  private readonly keep: number
  /** The attribute's `@StoredAttribute()` options (content type, file name for keys). */
  private readonly attributeOptions: StoredAttributeOptions | undefined
  /** Columns selected to rebuild each row's entity, when those options need one. */
  private readonly entityColumns: ColumnMetadata[]

  constructor(
    private readonly dataSource: DataSource,
    bindings: readonly Binding[],
    private readonly options: MigrateOptions,
  ) {
    const [binding] = selectBindings(bindings, {
      entity: options.entity,
      attribute: options.attribute,
    })
    this.binding = binding!
    this.destination = this.binding.storage
    const { metadata, column } = this.binding
    this.keySql = columnSql(dataSource, column.databaseName)
    this.keep = options.keepProblems ?? 1000
    this.attributeOptions = storedColumns(metadata).find(
      (stored) => stored.column === column,
    )?.options
    const needsEntity =
      typeof this.attributeOptions?.fileName === 'function' ||
      typeof this.attributeOptions?.contentType === 'function'
    let source: string
    if ('column' in options.from) {
      const given = options.from.column
      const mapped = metadata.columns.find(
        (c) => c.propertyPath === given || c.databaseName === given,
      )
      this.sourceColumn = mapped?.databaseName ?? assertIdentifier(given, 'The source column')
      if (this.sourceColumn === column.databaseName) {
        throw new ConfigurationError(
          `The source column ${given} is the stored attribute's own column: copy the bytes to a new column first, ` +
            'or add a new stored attribute column and migrate into it.',
        )
      }
      this.sourceSql = columnSql(dataSource, this.sourceColumn)
      this.sourceUsers = []
      source = `column ${this.sourceColumn}`
    } else {
      this.sourceStorage = options.from.storage
      if (sameStore(this.sourceStorage, this.destination)) {
        throw new ConfigurationError(
          `${bindingLabel(this.binding)} already uses ${describeStorage(this.destination)}: source and destination are the same storage.`,
        )
      }
      // Where an old key may still be referenced: this attribute's unmigrated rows, and any
      // other attribute still registered on the source storage.
      this.sourceUsers = [
        this.binding,
        ...bindings.filter((b) => b !== this.binding && sameStore(b.storage, this.sourceStorage!)),
      ]
      source = describeStorage(this.sourceStorage)
    }
    this.entityColumns = needsEntity
      ? metadata.columns.filter(
          (c) =>
            !c.isVirtual &&
            c.databaseName !== column.databaseName &&
            c.databaseName !== this.sourceColumn,
        )
      : []
    this.report = {
      attribute: bindingLabel(this.binding),
      source,
      destination: describeStorage(this.destination),
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
  }

  /** What a write for `row` passes to the storage: the key context, and the media type. */
  private writeOptions(row: ScannedRow): { context: KeyContext; contentType?: string } {
    const context: KeyContext = {
      entityName: this.binding.metadata.name,
      attributeName: this.binding.column.propertyPath,
    }
    const options = this.attributeOptions
    let contentType = typeof options?.contentType === 'string' ? options.contentType : undefined
    if (this.entityColumns.length) {
      // The row as an entity, for the attribute's fileName / contentType functions.
      const entity = this.binding.metadata.create() as ObjectLiteral
      this.entityColumns.forEach((column, i) =>
        column.setEntityValue(
          entity,
          this.dataSource.driver.prepareHydratedValue(row.values[`e${i}`], column),
        ),
      )
      context.entity = entity
      const fileName = options?.fileName?.(entity)
      if (fileName) context.fileName = fileName
      if (typeof options?.contentType === 'function')
        contentType = options.contentType(entity) ?? undefined
    }
    return contentType === undefined ? { context } : { context, contentType }
  }

  private problem(
    row: ScannedRow,
    kind: MigrationProblem['kind'],
    detail: string,
    key?: string,
  ): void {
    const problem: MigrationProblem = {
      kind,
      id: formatPrimaryKey(this.binding.metadata, row.id),
      detail,
      ...(key === undefined ? {} : { key }),
    }
    this.report.problemCount++
    if (this.report.problems.length < this.keep) this.report.problems.push(problem)
    this.options.onProblem?.(problem)
  }

  /** Rows still to look at. */
  private conditions(): Condition[] {
    if (this.sourceSql) {
      const pending = [{ sql: `${this.sourceSql} IS NOT NULL` }]
      // With deleteSource, rows copied by an earlier run still have their source to clear.
      return this.options.deleteSource ? pending : [...pending, { sql: `${this.keySql} IS NULL` }]
    }
    return [{ sql: `${this.keySql} IS NOT NULL` }]
  }

  async run(): Promise<MigrateReport> {
    const { metadata } = this.binding
    const { options } = this
    const after =
      typeof options.after === 'string' ? parsePrimaryKey(metadata, options.after) : options.after
    const task = `migrate ${bindingLabel(this.binding)}`
    const total = await countRows(this.dataSource, metadata, this.conditions())
    options.onProgress?.({ task, unit: 'rows', done: 0, total, bytes: 0 })
    const select: Record<string, string> = { k: this.keySql }
    if (this.sourceSql) select.src = this.sourceSql
    this.entityColumns.forEach(
      (column, i) => (select[`e${i}`] = columnSql(this.dataSource, column.databaseName)),
    )
    const pages = keysetPages({
      dataSource: this.dataSource,
      metadata,
      select,
      where: this.conditions(),
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

  // ---- one batch ----------------------------------------------------------------------

  /** Copies, verifies, commits one batch. Returns false when abandoned (nothing committed). */
  private async migrateBatch(page: ScannedRow[]): Promise<boolean> {
    const signal = this.options.signal
    const copies = new Set<string>()
    const actions: RowAction[] = []
    // A key shared by rows of the batch is copied once (storage source).
    const shared = new Map<string, Promise<{ key: string; size: number } | undefined>>()
    try {
      await settleBounded(
        page,
        this.options.concurrency ?? 4,
        async (row) => {
          const action = this.sourceSql
            ? await this.fromColumn(row, copies)
            : await this.fromStorage(row, copies, shared)
          if (action) actions.push(action)
        },
        signal,
      )
    } catch (error) {
      await this.discard(copies)
      if (signal?.aborted) return false
      throw error
    }
    if (signal?.aborted) {
      await this.discard(copies)
      return false
    }

    // Commit the batch: each row's update applies only if its key column is still as read.
    const writes = actions.filter((action) => Object.keys(action.set).length)
    const updates: RowUpdate[] = writes.map((action) => ({
      id: action.row.id,
      set: action.set,
      expect: { column: this.binding.column.databaseName, value: action.expect },
    }))
    const applied = new Set<RowAction>(actions.filter((action) => !Object.keys(action.set).length))
    const runner: QueryRunner = this.dataSource.createQueryRunner()
    try {
      await runner.connect()
      await runner.startTransaction()
      const changed = await updateAll(runner, this.binding.metadata, updates)
      if (changed === updates.length) {
        for (const action of writes) applied.add(action)
      } else {
        // Some rows changed since they were read: redo the batch a row at a time to learn which.
        await runner.rollbackTransaction()
        await runner.startTransaction()
        const counts = await updateEach(runner, this.binding.metadata, updates)
        writes.forEach((action, i) => counts[i] && applied.add(action))
      }
      await runner.commitTransaction()
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => {})
      await this.discard(copies)
      throw error
    } finally {
      await runner.release()
    }

    // Committed. Account, and clean up what is no longer needed.
    const used = new Set<string>()
    const oldKeys: string[] = []
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
      if (this.sourceSql && this.options.deleteSource) this.report.sourceDeleted++
      if (action.oldKey) oldKeys.push(action.oldKey)
    }
    await this.discard([...copies].filter((key) => !used.has(key)))
    if (this.sourceStorage && this.options.deleteSource && oldKeys.length) {
      const unique = [...new Set(oldKeys)]
      const stillReferenced = await referencedByAny(this.dataSource, this.sourceUsers, unique)
      const deletable = unique.filter((key) => !stillReferenced.has(key))
      await this.sourceStorage.deleteMany(deletable)
      this.report.sourceDeleted += deletable.length
    }
    return true
  }

  /** Deletes copies that no committed row references (abandoned batch, row changed meanwhile). */
  private async discard(keys: Iterable<string>): Promise<void> {
    const list = [...keys]
    if (list.length) await this.destination.deleteMany(list).catch(() => {})
  }

  /** Writes `body` to the destination and re-reads the stored copy; returns its key or undefined (problem reported). */
  private async copyAndVerify(
    row: ScannedRow,
    body: Body,
    expected: { size?: number | undefined; sha256?: string | undefined },
    copies: Set<string>,
    sourceKey?: string,
  ): Promise<{ key: string; size: number } | undefined> {
    const signal = this.options.signal
    let written
    try {
      // No abort signal for the write itself: an upload aborted in flight may still land on
      // the server with the caller never learning its key. Aborting stops the source stream
      // instead (the write then fails and stores nothing), or lets the write finish, and the
      // copy is deleted with the rest of the abandoned batch.
      written = await this.destination.write(body, {
        ...this.writeOptions(row),
        ...(expected.size === undefined ? {} : { size: expected.size }),
        ...(expected.sha256 === undefined ? {} : { sha256: expected.sha256 }),
      })
    } catch (error) {
      if (signal?.aborted) throw error
      if (isAttrstoreError(error, 'ATTRSTORE_INTEGRITY')) {
        this.problem(
          row,
          'corrupt',
          `the source does not match its recorded size or SHA-256: ${(error as Error).message}`,
          sourceKey,
        )
        return undefined
      }
      throw error
    }
    copies.add(written.key)
    const check = await rehash(this.destination, written.key, signal)
    if (check.sha256 !== written.sha256 || check.size !== written.size) {
      this.problem(
        row,
        'corrupt',
        `the copy ${written.key} did not verify: stored ${check.size} bytes with SHA-256 ${check.sha256}, sent ${written.size} bytes with ${written.sha256}`,
        sourceKey,
      )
      return undefined
    }
    return { key: written.key, size: written.size }
  }

  private async fromColumn(row: ScannedRow, copies: Set<string>): Promise<RowAction | undefined> {
    const bytes = toBytes(row.values.src)
    const current = row.values.k as string | null
    const sourceColumn = this.sourceColumn!
    if (!bytes) {
      this.problem(row, 'error', `the source column holds a ${typeof row.values.src}, not bytes`)
      return undefined
    }
    const sha256 = sha256Hex(bytes)
    if (current !== null) {
      // Copied by an earlier run without deleteSource: check the object before clearing the source.
      try {
        const check = await rehash(this.destination, current, this.options.signal)
        if (check.sha256 !== sha256) {
          this.problem(
            row,
            'conflict',
            `the row's object ${current} differs from its ${sourceColumn} column; both left as they are`,
            current,
          )
          return undefined
        }
      } catch (error) {
        if (!notFound(error)) throw error
        this.problem(
          row,
          'missing',
          `the row's object ${current} is missing; ${sourceColumn} left as it is`,
          current,
        )
        return undefined
      }
      this.report.alreadyMigrated++
      return {
        row,
        set: { [sourceColumn]: null },
        expect: current,
        bytes: 0,
      }
    }
    const copy = await this.copyAndVerify(row, bytes, { size: bytes.length, sha256 }, copies)
    if (!copy) return undefined
    const set: Record<string, string | null> = { [this.binding.column.databaseName]: copy.key }
    if (this.options.deleteSource) set[sourceColumn] = null
    return {
      row,
      set,
      expect: null,
      copy: copy.key,
      bytes: copy.size,
    }
  }

  private async fromStorage(
    row: ScannedRow,
    copies: Set<string>,
    shared: Map<string, Promise<{ key: string; size: number } | undefined>>,
  ): Promise<RowAction | undefined> {
    const source = this.sourceStorage!
    const key = row.values.k as string
    let stat: ObjectStat | undefined
    try {
      stat = await source.stat(key)
    } catch (error) {
      if (!notFound(error)) throw error
    }
    if (!stat) {
      // Not in the source: done by an earlier run when the destination has it.
      if (await this.destination.exists(key)) {
        this.report.alreadyMigrated++
        return undefined
      }
      this.problem(row, 'missing', `neither the source nor the destination has ${key}`, key)
      return undefined
    }
    if (await this.destination.exists(key)) {
      // The destination made the same key (a deterministic key generator): done when the content agrees.
      const [there, here] = await Promise.all([this.destination.verify(key), source.verify(key)])
      if (there.sha256 !== here.sha256) {
        this.problem(row, 'conflict', `${key} exists in both storages with different contents`, key)
        return undefined
      }
      this.report.alreadyMigrated++
      return this.options.deleteSource
        ? { row, set: {}, expect: key, oldKey: key, bytes: 0 }
        : undefined
    }
    let pending = shared.get(key)
    if (!pending) {
      pending = source
        .readStream(key, this.options.signal ? { signal: this.options.signal } : {})
        .then((stream) =>
          this.copyAndVerify(row, stream, { size: stat.size, sha256: stat.sha256 }, copies, key),
        )
      shared.set(key, pending)
    }
    const copy = await pending
    if (!copy) return undefined
    return {
      row,
      set: { [this.binding.column.databaseName]: copy.key },
      expect: key,
      copy: copy.key,
      ...(this.options.deleteSource ? { oldKey: key } : {}),
      bytes: copy.size,
    }
  }

  // ---- dry run ------------------------------------------------------------------------

  /** Counts what a batch would do. */
  private async plan(page: ScannedRow[]): Promise<boolean> {
    await runBounded(page, this.options.concurrency ?? 4, async (row) => {
      if (this.sourceSql) {
        const bytes = toBytes(row.values.src)
        if (!bytes)
          return this.problem(
            row,
            'error',
            `the source column holds a ${typeof row.values.src}, not bytes`,
          )
        if (row.values.k !== null) this.report.alreadyMigrated++
        else {
          this.report.copied++
          this.report.bytes += bytes.length
        }
        if (this.options.deleteSource) this.report.sourceDeleted++
        return
      }
      const key = row.values.k as string
      const stat = await this.sourceStorage!.stat(key).catch((error: unknown) => {
        if (notFound(error)) return undefined
        throw error
      })
      if (stat && !(await this.destination.exists(key))) {
        this.report.copied++
        this.report.bytes += stat.size
        if (this.options.deleteSource) this.report.sourceDeleted++
      } else if (stat || (await this.destination.exists(key))) this.report.alreadyMigrated++
      else this.problem(row, 'missing', `neither the source nor the destination has ${key}`, key)
    })
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
    dataSource,
    resolveBindings(dataSource, options.bindings),
    options,
  )
  return migration.run()
}
