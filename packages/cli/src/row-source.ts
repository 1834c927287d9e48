import { ConfigurationError } from '@attrstore/core'
import type { EntityMetadata, ObjectLiteral } from 'typeorm'
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js'
import type { Binding } from './bindings.js'

/**
 * How the CLI's algorithms (migrate, gc, verify, stat) see the database: pages of rows of
 * one stored attribute, counts, which keys rows reference, and the conditional updates of
 * a migration. They never build SQL: {@link TypeOrmRowSource} does.
 */
export interface RowSource {
  /** How many rows of the attribute's entity meet every condition (soft-deleted rows included). */
  count(attribute: StoredColumn, where?: readonly ColumnCondition[]): Promise<number>
  /** How many distinct keys the attribute's column holds (nulls not counted). */
  countKeys(attribute: StoredColumn): Promise<number>
  /**
   * Every row meeting the conditions, by pages of `batchSize` in primary-key order (keyset
   * pagination: constant memory, a page costs the same anywhere in the table).
   */
  pages(request: PageRequest): AsyncGenerator<Row[]>
  /** The subset of `keys` that rows of `user` reference, soft-deleted rows included. */
  referencedBy(user: StoredColumn, keys: readonly string[]): Promise<Set<string>>
  /** The subset of `keys` that any row of any of `users` references. */
  referencedByAny(users: readonly StoredColumn[], keys: readonly string[]): Promise<Set<string>>
  /**
   * Applies row updates in one transaction, each only if its row's expected column still
   * holds what was read; returns, per update, whether it applied. Nothing is committed if it
   * throws. Bypasses the ORM's subscribers: attrstore's would take a new key for content to
   * upload.
   */
  updateRows(attribute: StoredColumn, updates: readonly RowUpdate[]): Promise<boolean[]>
}

/** A stored attribute's entity and key column: what rows are read for. */
export type StoredColumn = Pick<Binding, 'metadata' | 'column'>

/** A condition on one column (by database name): it holds a value, or it is null. */
export interface ColumnCondition {
  column: string
  is: 'null' | 'not null'
}

export interface PageRequest {
  attribute: StoredColumn
  /** Other columns to read with each row, by database name (in {@link Row.values}). */
  columns?: readonly string[]
  /** Columns to rebuild each row's entity from (in {@link Row.entity}). */
  entityColumns?: readonly ColumnMetadata[]
  /** Conditions every row must meet, ANDed. */
  where?: readonly ColumnCondition[]
  /** Rows per page. */
  batchSize: number
  /** Start after this primary key (exclusive). */
  after?: PrimaryKey | undefined
}

/** One row of a page. */
export interface Row {
  id: PrimaryKey
  /** The attribute's key column as read. */
  key: string | null
  /** The requested other columns, by database name, as the driver returned them. */
  values: Record<string, unknown>
  /** With `entityColumns`: the row as an entity of those columns. */
  entity?: ObjectLiteral
}

/** A row's primary key, one value per primary column, in `metadata.primaryColumns` order. */
export type PrimaryKey = unknown[]

/** One row to update: its key, the new values, and what its key column must still hold. */
export interface RowUpdate {
  id: PrimaryKey
  /** New values by database column name (`null` clears). */
  set: Record<string, string | null>
  /** The update applies only if this column still holds this value (`null`: is null). */
  expect: { column: string; value: string | null }
}

/** `42`, or `{"tenant":1,"id":42}` for composite keys. */
export function formatPrimaryKey(metadata: EntityMetadata, id: PrimaryKey): string {
  if (id.length === 1) return String(id[0])
  return JSON.stringify(
    Object.fromEntries(metadata.primaryColumns.map((column, i) => [column.propertyPath, id[i]])),
  )
}

/** Integer column types, as TypeORM entities spell them. */
const INTEGER_TYPE =
  /^(int|integer|tinyint|smallint|mediumint|bigint|int2|int4|int8|serial|bigserial|smallserial)$/i

function isIntegerColumn(column: ColumnMetadata): boolean {
  return (
    column.type === Number ||
    (typeof column.type === 'string' && INTEGER_TYPE.test(column.type)) ||
    column.generationStrategy === 'increment'
  )
}

/**
 * Parses `--after` values: a single value, or JSON for composite keys. An integer key must
 * be given as an integer: compared with a string, SQLite would place every row before it.
 */
export function parsePrimaryKey(metadata: EntityMetadata, text: string): PrimaryKey {
  const columns = metadata.primaryColumns
  let id: PrimaryKey
  if (columns.length === 1) id = [text.trim()]
  else {
    let parsed: Record<string, unknown> | unknown[]
    try {
      parsed = JSON.parse(text) as Record<string, unknown> | unknown[]
    } catch {
      throw new ConfigurationError(
        `--after ${JSON.stringify(text)}: the primary key of ${metadata.name} is composite: give it as JSON, ` +
          `e.g. ${JSON.stringify(Object.fromEntries(columns.map((column) => [column.propertyPath, 1])))}`,
      )
    }
    id = Array.isArray(parsed) ? parsed : columns.map((column) => parsed[column.propertyPath])
  }
  columns.forEach((column, i) => {
    if (isIntegerColumn(column) && !/^-?\d+$/.test(String(id[i]).trim()))
      throw new ConfigurationError(
        `--after ${JSON.stringify(text)}: the primary key ${column.propertyPath} of ${metadata.name} is a number`,
      )
  })
  return id
}
