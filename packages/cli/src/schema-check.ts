import { ConfigurationError } from '@attrstore/core'
import type { DataSource, EntityMetadata } from 'typeorm'
import { bindingLabel, type Binding } from './bindings.js'

/** The columns of an entity's table as the database has them, or undefined when there is no such table. */
async function tableColumns(
  dataSource: DataSource,
  metadata: EntityMetadata,
): Promise<string[] | undefined> {
  const runner = dataSource.createQueryRunner()
  try {
    return (await runner.getTable(metadata.tablePath))?.columns.map((column) => column.name)
  } finally {
    await runner.release()
  }
}

/**
 * Refuses, before any work, a database whose schema lacks the table or the key column of a
 * stored attribute: the commands never change the schema, and a query on a missing table
 * fails with a driver error that does not say so.
 */
export async function assertStoredColumnsExist(
  dataSource: DataSource,
  bindings: readonly Binding[],
): Promise<void> {
  const checked = new Map<EntityMetadata, Promise<string[] | undefined>>()
  for (const binding of bindings) {
    const { metadata, column } = binding
    let columns = checked.get(metadata)
    if (!columns) checked.set(metadata, (columns = tableColumns(dataSource, metadata)))
    const found = await columns
    if (!found) {
      throw new ConfigurationError(
        `The table "${metadata.tablePath}" of ${bindingLabel(binding)} does not exist in the database: ` +
          "run the application's migrations first (these commands never change the schema).",
      )
    }
    if (!found.includes(column.databaseName)) {
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
  const found = await tableColumns(dataSource, metadata)
  if (found && !found.includes(name)) {
    throw new ConfigurationError(
      `The table "${metadata.tablePath}" has no column "${name}" (${what}); its columns: ${found.join(', ')}`,
    )
  }
}
