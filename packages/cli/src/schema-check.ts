import { ConfigurationError } from '@attrstore/core'
import type { DataSource, EntityMetadata } from 'typeorm'
import { bindingLabel, selectStores, type Binding, type BindingFilter } from './bindings.js'

/** What the database says of an entity's table. */
type TableState =
  /** The table is there; `columns` when the database listed them, else ask `has`. */
  | { kind: 'found'; columns: string[] | undefined; has(column: string): Promise<boolean> }
  | { kind: 'missing' }
  /** The table could not be checked (a name the driver's introspection cannot quote): go on. */
  | { kind: 'unchecked' }

/** Whether `SELECT <column or 1> FROM <table> WHERE 1=0` runs: resolved as the commands' own queries are. */
async function probe(
  dataSource: DataSource,
  metadata: EntityMetadata,
  column?: string,
): Promise<boolean> {
  const alias = 'probe'
  const escape = (name: string): string => dataSource.driver.escape(name)
  const selection = column === undefined ? '1' : `${escape(alias)}.${escape(column)}`
  try {
    await dataSource
      .createQueryBuilder()
      .select(selection)
      .from(metadata.target, alias)
      .where('1=0')
      .getRawMany()
    return true
  } catch {
    return false
  }
}

/**
 * The table of an entity as the database has it. TypeORM's introspection looks in the
 * entity's schema, or the current schema (PostgreSQL's `current_schema()`) when it has none;
 * a table it does not find there may still be on the `search_path`, which the commands'
 * queries resolve through: a probe query settles it.
 */
async function tableState(dataSource: DataSource, metadata: EntityMetadata): Promise<TableState> {
  const runner = dataSource.createQueryRunner()
  let introspected: string[] | undefined
  let introspectionFailed = false
  try {
    introspected = (await runner.getTable(metadata.tablePath))?.columns.map((column) => column.name)
  } catch {
    introspectionFailed = true
  } finally {
    await runner.release()
  }
  if (introspected) {
    const columns = introspected
    return { kind: 'found', columns, has: async (column) => columns.includes(column) }
  }
  if (await probe(dataSource, metadata))
    return {
      kind: 'found',
      columns: undefined,
      has: (column) => probe(dataSource, metadata, column),
    }
  return introspectionFailed ? { kind: 'unchecked' } : { kind: 'missing' }
}

/** The bindings a command works on: those selected, and every user of their stores (gc and stat look at all of them). */
function checkedBindings(
  dataSource: DataSource,
  bindings: readonly Binding[],
  filter: BindingFilter,
): Binding[] {
  if (!bindings.length) return []
  return selectStores(dataSource, { ...filter, bindings }).groups.flatMap((group) => group.users)
}

/**
 * Refuses, before any work, a database whose schema lacks the table or the key column of a
 * stored attribute the command works on (`filter`: its `-e`/`-a`): the commands never
 * change the schema, and a query on a missing table fails with a driver error that does not
 * say so. Entities on views are not checked (they have no table), nor tables the database
 * cannot be asked about.
 */
export async function assertStoredColumnsExist(
  dataSource: DataSource,
  bindings: readonly Binding[],
  filter: BindingFilter = {},
): Promise<void> {
  const checked = new Map<EntityMetadata, Promise<TableState>>()
  for (const binding of checkedBindings(dataSource, bindings, filter)) {
    const { metadata, column } = binding
    if (metadata.tableType === 'view') continue
    let state = checked.get(metadata)
    if (!state) checked.set(metadata, (state = tableState(dataSource, metadata)))
    const table = await state
    if (table.kind === 'unchecked') continue
    if (table.kind === 'missing') {
      throw new ConfigurationError(
        `The table "${metadata.tablePath}" of ${bindingLabel(binding)} does not exist in the database: ` +
          "run the application's migrations first (these commands never change the schema).",
      )
    }
    if (!(await table.has(column.databaseName))) {
      throw new ConfigurationError(
        `The table "${metadata.tablePath}" has no column "${column.databaseName}" for ${bindingLabel(binding)}: ` +
          "run the application's migrations first (these commands never change the schema).",
      )
    }
  }
}

/** Refuses a column the command line names (`what`: the option) that the entity's table lacks. */
export async function assertColumnExists(
  dataSource: DataSource,
  metadata: EntityMetadata,
  name: string,
  what: string,
): Promise<void> {
  const table = await tableState(dataSource, metadata)
  if (table.kind !== 'found' || (await table.has(name))) return
  throw new ConfigurationError(
    `The table "${metadata.tablePath}" has no column "${name}" (${what})` +
      (table.columns ? `; its columns: ${table.columns.join(', ')}` : ''),
  )
}
