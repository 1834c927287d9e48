import type { DataSource, EntityMetadata, ObjectLiteral, QueryRunner } from 'typeorm'
import type { RowUpdate } from './row-source.js'

/** The table of an entity, escaped for the driver (schema-qualified when it is). */
function tableSql(dataSource: DataSource, metadata: EntityMetadata): string {
  return metadata.tablePath
    .split('.')
    .map((part) => (part === '' ? part : dataSource.driver.escape(part)))
    .join('.')
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
