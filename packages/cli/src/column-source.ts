import { ConfigurationError, isAttrstoreError } from '@attrstore/core'
import { sha256Hex } from '@attrstore/core/driver'
import type { ByteSource, MigrationContext, RowAction } from './byte-source.js'
import { InvalidOptionError } from './invalid-option.js'
import type { ColumnCondition, Row } from './row-source.js'
import { rehash, type BatchCopies } from './verified-copy.js'

/** A raw column name given on the command line: a plain SQL identifier, nothing else. */
function assertIdentifier(name: string, what: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(name)) {
    throw new InvalidOptionError(
      `${what} must be a plain column name (letters, digits, _), got ${JSON.stringify(name)}`,
    )
  }
  return name
}

function toBytes(value: unknown): Buffer | undefined {
  if (Buffer.isBuffer(value)) return value
  if (value instanceof Uint8Array)
    return Buffer.from(value.buffer, value.byteOffset, value.byteLength)
  if (typeof value === 'string') return Buffer.from(value, 'utf8')
  return undefined
}

/**
 * The bytes are in a column of the same table (`bytea`, `blob`...). A row is done when its
 * stored attribute is not null; with deleteSource, once its column is cleared too (in the
 * same UPDATE that writes the key).
 */
export class ColumnSource implements ByteSource {
  /** The source column's database name. */
  readonly column: string
  readonly description: string
  readonly pending: readonly ColumnCondition[]
  readonly columns: readonly string[]

  /** `given`: the column's database name, or a mapped property. */
  constructor(
    private readonly context: MigrationContext,
    given: string,
  ) {
    const { metadata, column } = context.binding
    const mapped = metadata.columns.find(
      (c) => c.propertyPath === given || c.databaseName === given,
    )
    this.column = mapped?.databaseName ?? assertIdentifier(given, 'The source column')
    if (this.column === column.databaseName) {
      throw new ConfigurationError(
        `The source column ${given} is the stored attribute's own column: copy the bytes to a new column first, ` +
          'or add a new stored attribute column and migrate into it.',
      )
    }
    this.description = `column ${this.column}`
    this.columns = [this.column]
    const withBytes: ColumnCondition = { column: this.column, is: 'not null' }
    // With deleteSource, rows copied by an earlier run still have their source to clear.
    this.pending = context.deleteSource
      ? [withBytes]
      : [withBytes, { column: column.databaseName, is: 'null' }]
  }

  private bytes(row: Row): Buffer | undefined {
    const bytes = toBytes(row.values[this.column])
    if (!bytes) {
      this.context.problem(
        row,
        'error',
        `the source column holds a ${typeof row.values[this.column]}, not bytes`,
      )
    }
    return bytes
  }

  async migrateRow(row: Row, copies: BatchCopies): Promise<RowAction | undefined> {
    const { context } = this
    const bytes = this.bytes(row)
    if (!bytes) return undefined
    const current = row.key
    const sha256 = sha256Hex(bytes)
    if (current !== null) {
      // Copied by an earlier run without deleteSource: check the object before clearing the source.
      try {
        const check = await rehash(context.destination, current, context.signal)
        if (check.sha256 !== sha256) {
          context.problem(
            row,
            'conflict',
            `the row's object ${current} differs from its ${this.column} column; both left as they are`,
            current,
          )
          return undefined
        }
      } catch (error) {
        if (!isAttrstoreError(error, 'ATTRSTORE_NOT_FOUND')) throw error
        context.problem(
          row,
          'missing',
          `the row's object ${current} is missing; ${this.column} left as it is`,
          current,
        )
        return undefined
      }
      context.report.alreadyMigrated++
      return { row, set: { [this.column]: null }, expect: current, bytes: 0 }
    }
    const copy = await copies.copy(row, bytes, { size: bytes.length, sha256 })
    if (!copy) return undefined
    const set: Record<string, string | null> = { [context.binding.column.databaseName]: copy.key }
    if (context.deleteSource) set[this.column] = null
    return { row, set, expect: null, copy: copy.key, bytes: copy.size }
  }

  async planRow(row: Row): Promise<void> {
    const { report, deleteSource } = this.context
    const bytes = this.bytes(row)
    if (!bytes) return
    if (row.key !== null) report.alreadyMigrated++
    else {
      report.copied++
      report.bytes += bytes.length
    }
    if (deleteSource) report.sourceDeleted++
  }

  async committed(applied: readonly RowAction[]): Promise<void> {
    // The column was cleared in the same UPDATE.
    if (this.context.deleteSource) this.context.report.sourceDeleted += applied.length
  }
}
