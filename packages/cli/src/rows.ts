import type {
  DataSource,
  EntityMetadata,
  ObjectLiteral,
  QueryRunner,
  SelectQueryBuilder,
} from 'typeorm'
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js'

/** The alias every query of this package gives the scanned table. */
export const ROW = 'r'

/** A SQL condition with its named parameters (`:name`). */
export interface Condition {
  sql: string
  parameters?: ObjectLiteral
}

/** `"r"."column"`, escaped for the driver. */
export function columnSql(dataSource: DataSource, databaseName: string, alias = ROW): string {
  const { driver } = dataSource
  return `${driver.escape(alias)}.${driver.escape(databaseName)}`
}

/** The table of an entity, escaped for the driver (schema-qualified when it is). */
export function tableSql(dataSource: DataSource, metadata: EntityMetadata): string {
  return metadata.tablePath
    .split('.')
    .map((part) => (part === '' ? part : dataSource.driver.escape(part)))
    .join('.')
}

/** A raw column name given on the command line: a plain SQL identifier, nothing else. */
export function assertIdentifier(name: string, what: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_$]*$/.test(name)) {
    throw new RangeError(
      `${what} must be a plain column name (letters, digits, _), got ${JSON.stringify(name)}`,
    )
  }
  return name
}

/** A row's primary key, one value per primary column, in `metadata.primaryColumns` order. */
export type PrimaryKey = unknown[]

/** `42`, or `{"tenant":1,"id":42}` for composite keys. */
export function formatPrimaryKey(metadata: EntityMetadata, id: PrimaryKey): string {
  if (id.length === 1) return String(id[0])
  return JSON.stringify(
    Object.fromEntries(metadata.primaryColumns.map((column, i) => [column.propertyPath, id[i]])),
  )
}

/** Parses `--after` values: a single value, or JSON for composite keys. */
export function parsePrimaryKey(metadata: EntityMetadata, text: string): PrimaryKey {
  const columns = metadata.primaryColumns
  if (columns.length === 1) return [text.trim()]
  const parsed = JSON.parse(text) as Record<string, unknown> | unknown[]
  if (Array.isArray(parsed)) return parsed
  return columns.map((column) => parsed[column.propertyPath])
}

/** Starts a SELECT over every row of an entity, soft-deleted ones included. */
export function selectRows(
  dataSource: DataSource,
  metadata: EntityMetadata,
  runner?: QueryRunner,
): SelectQueryBuilder<ObjectLiteral> {
  return dataSource.createQueryBuilder(runner).from(metadata.target, ROW).withDeleted()
}

function applyConditions(
  builder: SelectQueryBuilder<ObjectLiteral>,
  conditions: readonly Condition[],
): void {
  for (const { sql, parameters } of conditions) builder.andWhere(sql, parameters)
}

/** `COUNT(*)` of the rows matching every condition (soft-deleted rows included). */
export async function countRows(
  dataSource: DataSource,
  metadata: EntityMetadata,
  conditions: readonly Condition[] = [],
  expression = 'COUNT(*)',
): Promise<number> {
  const builder = selectRows(dataSource, metadata).select(expression, 'n')
  applyConditions(builder, conditions)
  const row = await builder.getRawOne<{ n: unknown }>()
  return Number(row?.n ?? 0)
}

export interface KeysetScan {
  dataSource: DataSource
  metadata: EntityMetadata
  /** Extra expressions to select, by alias (lower-case aliases: some drivers fold case). */
  select: Record<string, string>
  /** Conditions every row must meet, ANDed. Parameter names must not start with `ks_`. */
  where?: readonly Condition[]
  /** Rows per page. */
  batchSize: number
  /** Start after this primary key (exclusive). */
  after?: PrimaryKey | undefined
}

/** One row of a page: its primary key and the selected values. */
export interface ScannedRow {
  id: PrimaryKey
  values: Record<string, unknown>
}

/**
 * Every matching row, by pages of `batchSize` in primary-key order, with keyset
 * pagination: each page is `WHERE pk > :last ORDER BY pk LIMIT n`, so a page costs the same
 * on the millionth row as on the first, memory holds one page, and rows inserted or
 * changed behind the cursor never shift the pages ahead of it (no OFFSET).
 */
export async function* keysetPages(scan: KeysetScan): AsyncGenerator<ScannedRow[]> {
  const { dataSource, metadata, batchSize } = scan
  const primary = metadata.primaryColumns
  if (!primary.length)
    throw new RangeError(`${metadata.name} has no primary key: rows cannot be paged`)
  const pkSql = primary.map((column: ColumnMetadata) => columnSql(dataSource, column.databaseName))
  let after = scan.after
  while (true) {
    const builder = selectRows(dataSource, metadata)
    pkSql.forEach((sql, i) =>
      i === 0 ? builder.select(sql, `pk${i}`) : builder.addSelect(sql, `pk${i}`),
    )
    for (const [alias, sql] of Object.entries(scan.select)) builder.addSelect(sql, alias)
    applyConditions(builder, scan.where ?? [])
    if (after) applyConditions(builder, [afterCondition(pkSql, after)])
    pkSql.forEach((sql) => builder.addOrderBy(sql, 'ASC'))
    builder.limit(batchSize)
    const raw = await builder.getRawMany<Record<string, unknown>>()
    if (!raw.length) return
    const page = raw.map((row) => ({ id: pkSql.map((_, i) => row[`pk${i}`]), values: row }))
    yield page
    if (raw.length < batchSize) return
    after = page[page.length - 1]!.id
  }
}

/** `pk > :after`, or for composite keys `a > :a OR (a = :a AND b > :b) ...`: portable SQL. */
function afterCondition(pkSql: string[], after: PrimaryKey): Condition {
  const parameters: ObjectLiteral = {}
  after.forEach((value, i) => (parameters[`ks_${i}`] = value))
  const alternatives = pkSql.map((sql, i) => {
    const equal = pkSql.slice(0, i).map((previous, j) => `${previous} = :ks_${j}`)
    return [...equal, `${sql} > :ks_${i}`].join(' AND ')
  })
  return {
    sql:
      alternatives.length === 1 ? alternatives[0]! : alternatives.map((a) => `(${a})`).join(' OR '),
    parameters,
  }
}

/** One row to update: its key, the new values, and what its key column must still hold. */
export interface RowUpdate {
  id: PrimaryKey
  /** New values by database column name (`null` clears). */
  set: Record<string, string | null>
  /** The update applies only if this column still holds this value (`null`: is null). */
  expect: { column: string; value: string | null }
}

/** Rows per UPDATE statement: keeps every statement under the bind-parameter limits. */
const ROWS_PER_STATEMENT = 100

async function execute(
  runner: QueryRunner,
  sql: string,
  parameters: ObjectLiteral,
): Promise<number> {
  const [query, values] = runner.connection.driver.escapeQueryWithParameters(sql, parameters)
  const result = (await runner.query(query, values, true)) as { affected?: number }
  return result.affected ?? 0
}

function rowCondition(
  dataSource: DataSource,
  metadata: EntityMetadata,
  update: RowUpdate,
  parameters: ObjectLiteral,
  tag: string,
): string {
  const { driver } = dataSource
  const parts = metadata.primaryColumns.map((column, i) => {
    parameters[`${tag}_${i}`] = update.id[i]
    return `${driver.escape(column.databaseName)} = :${tag}_${i}`
  })
  return parts.join(' AND ')
}

function expectation(
  dataSource: DataSource,
  update: RowUpdate,
  parameters: ObjectLiteral,
  tag: string,
): string {
  const column = dataSource.driver.escape(update.expect.column)
  if (update.expect.value === null) return `${column} IS NULL`
  parameters[`${tag}_old`] = update.expect.value
  return `${column} = :${tag}_old`
}

/**
 * Applies many row updates with few statements (one per {@link ROWS_PER_STATEMENT} rows):
 * `UPDATE t SET c = CASE WHEN <pk> THEN :v ... ELSE c END WHERE (<pk> AND <expectation>) OR ...`,
 * portable SQL. Returns how many rows changed in all. Raw SQL on purpose: attrstore's
 * subscriber must not see these writes (it would take the new key for content to upload).
 */
export async function updateAll(
  runner: QueryRunner,
  metadata: EntityMetadata,
  updates: readonly RowUpdate[],
): Promise<number> {
  const dataSource = runner.connection
  const { driver } = dataSource
  let affected = 0
  for (let start = 0; start < updates.length; start += ROWS_PER_STATEMENT) {
    const chunk = updates.slice(start, start + ROWS_PER_STATEMENT)
    const parameters: ObjectLiteral = {}
    const matches = chunk.map((update, i) =>
      rowCondition(dataSource, metadata, update, parameters, `r${i}`),
    )
    const columns = [...new Set(chunk.flatMap((update) => Object.keys(update.set)))]
    const assignments = columns.map((column) => {
      const escaped = driver.escape(column)
      const branches = chunk.flatMap((update, i) => {
        if (!(column in update.set)) return []
        const value = update.set[column]
        if (value === null) return [`WHEN ${matches[i]} THEN NULL`]
        parameters[`r${i}_${column}`] = value
        return [`WHEN ${matches[i]} THEN :r${i}_${column}`]
      })
      return `${escaped} = CASE ${branches.join(' ')} ELSE ${escaped} END`
    })
    const where = chunk.map(
      (update, i) => `(${matches[i]} AND ${expectation(dataSource, update, parameters, `r${i}`)})`,
    )
    affected += await execute(
      runner,
      `UPDATE ${tableSql(dataSource, metadata)} SET ${assignments.join(', ')} WHERE ${where.join(' OR ')}`,
      parameters,
    )
  }
  return affected
}

/** Applies row updates one statement each; returns how many rows each changed (0 or 1). */
export async function updateEach(
  runner: QueryRunner,
  metadata: EntityMetadata,
  updates: readonly RowUpdate[],
): Promise<number[]> {
  const dataSource = runner.connection
  const { driver } = dataSource
  const counts: number[] = []
  for (const update of updates) {
    const parameters: ObjectLiteral = {}
    const set = Object.entries(update.set).map(([column, value], i) => {
      if (value === null) return `${driver.escape(column)} = NULL`
      parameters[`set_${i}`] = value
      return `${driver.escape(column)} = :set_${i}`
    })
    const where = `${rowCondition(dataSource, metadata, update, parameters, 'pk')} AND ${expectation(dataSource, update, parameters, 'pk')}`
    counts.push(
      await execute(
        runner,
        `UPDATE ${tableSql(dataSource, metadata)} SET ${set.join(', ')} WHERE ${where}`,
        parameters,
      ),
    )
  }
  return counts
}
