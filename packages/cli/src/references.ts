import type { DataSource } from 'typeorm'
import type { Binding } from './bindings.js'
import { columnSql, selectRows } from './rows.js'

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

/**
 * The subset of `keys` that rows of `user` reference, soft-deleted rows included: one
 * `SELECT DISTINCT key ... WHERE key IN (...)` per chunk. Memory is bounded by the keys
 * asked about, whatever the size of the table; an index on the key column makes each
 * query a lookup instead of a scan.
 */
export async function referencedBy(
  dataSource: DataSource,
  user: Binding,
  keys: readonly string[],
): Promise<Set<string>> {
  const found = new Set<string>()
  const chunk = maxInList(dataSource)
  const column = columnSql(dataSource, user.column.databaseName)
  for (let start = 0; start < keys.length; start += chunk) {
    const part = keys.slice(start, start + chunk)
    const rows = await selectRows(dataSource, user.metadata)
      .select(column, 'k')
      .distinct(true)
      .where(`${column} IN (:...keys)`, { keys: part })
      .getRawMany<{ k: unknown }>()
    for (const { k } of rows) if (typeof k === 'string') found.add(k)
  }
  return found
}

/** The subset of `keys` that any row of any of `users` references. */
export async function referencedByAny(
  dataSource: DataSource,
  users: readonly Binding[],
  keys: readonly string[],
): Promise<Set<string>> {
  const found = new Set<string>()
  let pending = [...new Set(keys)]
  for (const user of users) {
    if (!pending.length) break
    for (const key of await referencedBy(dataSource, user, pending)) found.add(key)
    pending = pending.filter((key) => !found.has(key))
  }
  return found
}
