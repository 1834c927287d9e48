import { ConfigurationError } from '@attrstore/core'
import type {
  DataSource,
  EntityMetadata,
  ObjectLiteral,
  QueryRunner,
  SelectQueryBuilder,
} from 'typeorm'
import type {
  ColumnCondition,
  PageRequest,
  PrimaryKey,
  Row,
  RowSource,
  RowUpdate,
  StoredColumn,
} from './row-source.js'
import { updateAll, updateEach } from './typeorm-row-updates.js'

/** The alias every query of this module gives the scanned table. */
const ROW = 'r'

/** The values of a row read without other columns: one shared object, not one per row. */
const NO_VALUES: Readonly<Record<string, unknown>> = Object.freeze({})

/** A SQL condition with its named parameters (`:name`). */
interface Condition {
  sql: string
  parameters?: ObjectLiteral
}

/** How many keys one `IN (...)` list may carry on this database (bind-parameter limits). */
export function maxInList(dataSource: DataSource): number {
  switch (dataSource.options.type) {
    case 'postgres':
    case 'cockroachdb':
    case 'better-sqlite3':
    case 'mysql':
    case 'mariadb':
      return 5000
    case 'mssql':
      return 2000
    default:
      // Oracle caps IN lists at 1000; old SQLite builds cap parameters at 999.
      return 900
  }
}

/** Whether the driver binds a JavaScript array as one SQL array parameter (`= ANY($1)`). */
function takesArrayParameter(dataSource: DataSource): boolean {
  return dataSource.options.type === 'postgres' || dataSource.options.type === 'cockroachdb'
}

/** The {@link RowSource} of a TypeORM DataSource: portable SQL through its query builder. */
export class TypeOrmRowSource implements RowSource {
  constructor(private readonly dataSource: DataSource) {}

  /** `"r"."column"`, escaped for the driver. */
  private columnSql(databaseName: string): string {
    const { driver } = this.dataSource
    return `${driver.escape(ROW)}.${driver.escape(databaseName)}`
  }

  private conditionSql(condition: ColumnCondition): Condition {
    return { sql: `${this.columnSql(condition.column)} IS ${condition.is.toUpperCase()}` }
  }

  /** Starts a SELECT over every row of an entity, soft-deleted ones included. */
  private selectRows(
    metadata: EntityMetadata,
    runner?: QueryRunner,
  ): SelectQueryBuilder<ObjectLiteral> {
    return this.dataSource.createQueryBuilder(runner).from(metadata.target, ROW).withDeleted()
  }

  private async countExpression(
    metadata: EntityMetadata,
    expression: string,
    where: readonly ColumnCondition[] = [],
  ): Promise<number> {
    const builder = this.selectRows(metadata).select(expression, 'n')
    applyConditions(
      builder,
      where.map((condition) => this.conditionSql(condition)),
    )
    const row = await builder.getRawOne<{ n: unknown }>()
    return Number(row?.n ?? 0)
  }

  count(attribute: StoredColumn, where: readonly ColumnCondition[] = []): Promise<number> {
    return this.countExpression(attribute.metadata, 'COUNT(*)', where)
  }

  countKeys(attribute: StoredColumn): Promise<number> {
    return this.countExpression(
      attribute.metadata,
      `COUNT(DISTINCT ${this.columnSql(attribute.column.databaseName)})`,
    )
  }

  /**
   * Each page is `WHERE pk > :last ORDER BY pk LIMIT n`: rows inserted or changed behind the
   * cursor never shift the pages ahead of it (no OFFSET).
   */
  async *pages(request: PageRequest): AsyncGenerator<Row[]> {
    const { metadata, column } = request.attribute
    const { batchSize } = request
    const primary = metadata.primaryColumns
    if (!primary.length)
      throw new ConfigurationError(`${metadata.name} has no primary key: rows cannot be paged`)
    const pkSql = primary.map((key) => this.columnSql(key.databaseName))
    const columns = request.columns ?? []
    const entityColumns = request.entityColumns ?? []
    const where = (request.where ?? []).map((condition) => this.conditionSql(condition))
    const { driver } = this.dataSource
    let after = request.after
    while (true) {
      const builder = this.selectRows(metadata)
      pkSql.forEach((sql, i) =>
        i === 0 ? builder.select(sql, `pk${i}`) : builder.addSelect(sql, `pk${i}`),
      )
      // Lower-case aliases: some drivers fold case.
      builder.addSelect(this.columnSql(column.databaseName), 'k')
      columns.forEach((name, i) => builder.addSelect(this.columnSql(name), `c${i}`))
      entityColumns.forEach((entityColumn, i) =>
        builder.addSelect(this.columnSql(entityColumn.databaseName), `e${i}`),
      )
      applyConditions(builder, where)
      if (after) applyConditions(builder, [afterCondition(pkSql, after)])
      pkSql.forEach((sql) => builder.addOrderBy(sql, 'ASC'))
      builder.limit(batchSize)
      const raw = await builder.getRawMany<Record<string, unknown>>()
      if (!raw.length) return
      const page = raw.map((values): Row => {
        const row: Row = {
          id: pkSql.map((_, i) => values[`pk${i}`]),
          key: asKey(values.k),
          values: columns.length
            ? Object.fromEntries(columns.map((name, i) => [name, values[`c${i}`]]))
            : NO_VALUES,
        }
        if (entityColumns.length) {
          const entity = metadata.create() as ObjectLiteral
          entityColumns.forEach((entityColumn, i) =>
            entityColumn.setEntityValue(
              entity,
              driver.prepareHydratedValue(values[`e${i}`], entityColumn),
            ),
          )
          row.entity = entity
        }
        return row
      })
      yield page
      if (raw.length < batchSize) return
      after = page[page.length - 1]!.id
    }
  }

  /**
   * One `SELECT DISTINCT key ... WHERE key IN (...)` per chunk (on PostgreSQL and
   * CockroachDB `key = ANY(:keys)`, one array parameter: no statement of a thousand
   * placeholders to build, send and plan): memory is bounded by the keys asked about,
   * whatever the size of the table; an index on the key column makes each query a lookup
   * instead of a scan.
   */
  async referencedBy(user: StoredColumn, keys: readonly string[]): Promise<Set<string>> {
    const found = new Set<string>()
    const chunk = maxInList(this.dataSource)
    const column = this.columnSql(user.column.databaseName)
    const match = takesArrayParameter(this.dataSource)
      ? `${column} = ANY(:keys)`
      : `${column} IN (:...keys)`
    for (let start = 0; start < keys.length; start += chunk) {
      const part = keys.slice(start, start + chunk)
      const rows = await this.selectRows(user.metadata)
        .select(column, 'k')
        .distinct(true)
        .where(match, { keys: part })
        .getRawMany<{ k: unknown }>()
      for (const { k } of rows) if (typeof k === 'string') found.add(k)
    }
    return found
  }

  async referencedByAny(
    users: readonly StoredColumn[],
    keys: readonly string[],
  ): Promise<Set<string>> {
    const found = new Set<string>()
    let pending = [...new Set(keys)]
    for (const user of users) {
      if (!pending.length) break
      for (const key of await this.referencedBy(user, pending)) found.add(key)
      pending = pending.filter((key) => !found.has(key))
    }
    return found
  }

  async updateRows(attribute: StoredColumn, updates: readonly RowUpdate[]): Promise<boolean[]> {
    const { metadata } = attribute
    const runner = this.dataSource.createQueryRunner()
    try {
      await runner.connect()
      await runner.startTransaction()
      let applied: boolean[]
      const changed = await updateAll(runner, metadata, updates)
      if (changed === updates.length) applied = updates.map(() => true)
      else {
        // Some rows changed since they were read: redo the updates a row at a time to learn which.
        await runner.rollbackTransaction()
        await runner.startTransaction()
        applied = (await updateEach(runner, metadata, updates)).map((count) => count > 0)
      }
      await runner.commitTransaction()
      return applied
    } catch (error) {
      if (runner.isTransactionActive) await runner.rollbackTransaction().catch(() => {})
      throw error
    } finally {
      await runner.release()
    }
  }
}

function asKey(value: unknown): string | null {
  if (value === null || value === undefined) return null
  return typeof value === 'string' ? value : String(value)
}

function applyConditions(
  builder: SelectQueryBuilder<ObjectLiteral>,
  conditions: readonly Condition[],
): void {
  for (const { sql, parameters } of conditions) builder.andWhere(sql, parameters)
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
