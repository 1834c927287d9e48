import {
  ConfigurationError,
  isAttrstoreError,
  type AttributeStorage,
  type ObjectStat,
} from '@attrstore/core'
import { bindingLabel, sameStore, storageLocation, type Binding } from './bindings.js'
import type { ByteSource, MigrationContext, RowAction } from './byte-source.js'
import type { ColumnCondition, Row } from './row-source.js'
import type { BatchCopies } from './verified-copy.js'

/** A storage's location, or its class name when it has none: how reports name it. */
export function describeStorage(storage: AttributeStorage): string {
  return storageLocation(storage) ?? storage.constructor?.name ?? 'storage'
}

const notFound = (error: unknown): boolean => isAttrstoreError(error, 'ATTRSTORE_NOT_FOUND')

/**
 * The bytes are in the storage the attribute's keys point into now (storage to storage).
 * A row is done when its key is no longer in the source but in the destination; with
 * deleteSource, old objects are deleted once the batch committed and no row references
 * them any more.
 */
export class StorageSource implements ByteSource {
  readonly description: string
  readonly pending: readonly ColumnCondition[]
  readonly columns: readonly string[] = []
  /** Where an old key may still be referenced. */
  private readonly users: Binding[]

  constructor(
    private readonly context: MigrationContext,
    private readonly source: AttributeStorage,
    bindings: readonly Binding[],
  ) {
    const { binding, destination } = context
    if (sameStore(source, destination)) {
      throw new ConfigurationError(
        `${bindingLabel(binding)} already uses ${describeStorage(destination)}: source and destination are the same storage.`,
      )
    }
    // This attribute's unmigrated rows, and any other attribute still registered on the source storage.
    this.users = [binding, ...bindings.filter((b) => b !== binding && sameStore(b.storage, source))]
    this.description = describeStorage(source)
    this.pending = [{ column: binding.column.databaseName, is: 'not null' }]
  }

  private async stat(key: string): Promise<ObjectStat | undefined> {
    try {
      return await this.source.stat(key)
    } catch (error) {
      if (!notFound(error)) throw error
      return undefined
    }
  }

  async migrateRow(row: Row, copies: BatchCopies): Promise<RowAction | undefined> {
    const { context, source } = this
    const { destination, report, deleteSource, signal } = context
    const key = row.key!
    const stat = await this.stat(key)
    if (!stat) {
      // Not in the source: done by an earlier run when the destination has it.
      if (await destination.exists(key)) {
        report.alreadyMigrated++
        return undefined
      }
      context.problem(row, 'missing', `neither the source nor the destination has ${key}`, key)
      return undefined
    }
    if (await destination.exists(key)) {
      // The destination made the same key (a deterministic key generator): done when the content agrees.
      const [there, here] = await Promise.all([destination.verify(key), source.verify(key)])
      if (there.sha256 !== here.sha256) {
        context.problem(
          row,
          'conflict',
          `${key} exists in both storages with different contents`,
          key,
        )
        return undefined
      }
      report.alreadyMigrated++
      return deleteSource ? { row, set: {}, expect: key, oldKey: key, bytes: 0 } : undefined
    }
    // A key shared by rows of the batch is copied once.
    const copy = await copies.copyOnce(key, () =>
      source
        .readStream(key, signal ? { signal } : {})
        .then((stream) => copies.copy(row, stream, { size: stat.size, sha256: stat.sha256 }, key)),
    )
    if (!copy) return undefined
    return {
      row,
      set: { [context.binding.column.databaseName]: copy.key },
      expect: key,
      copy: copy.key,
      ...(deleteSource ? { oldKey: key } : {}),
      bytes: copy.size,
    }
  }

  async planRow(row: Row): Promise<void> {
    const { destination, report, deleteSource } = this.context
    const key = row.key!
    const stat = await this.stat(key)
    if (stat && !(await destination.exists(key))) {
      report.copied++
      report.bytes += stat.size
      if (deleteSource) report.sourceDeleted++
    } else if (stat || (await destination.exists(key))) report.alreadyMigrated++
    else
      this.context.problem(row, 'missing', `neither the source nor the destination has ${key}`, key)
  }

  async committed(applied: readonly RowAction[]): Promise<void> {
    const { rows, report, deleteSource } = this.context
    const oldKeys = [
      ...new Set(applied.flatMap((action) => (action.oldKey ? [action.oldKey] : []))),
    ]
    if (!deleteSource || !oldKeys.length) return
    const stillReferenced = await rows.referencedByAny(this.users, oldKeys)
    const deletable = oldKeys.filter((key) => !stillReferenced.has(key))
    await this.source.deleteMany(deletable)
    report.sourceDeleted += deletable.length
  }
}
