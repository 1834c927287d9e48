/**
 * The two places where TypeORM's public subscriber events do not tell enough, and where
 * attrstore wraps one internal method each. Both wrappers only add context; they never
 * change what TypeORM does. If a future TypeORM renames these internals, `installHooks`
 * reports it once and attrstore falls back to slower but still safe behaviour.
 *
 * 1. Before saving an existing entity, TypeORM reloads its row (SubjectDatabaseEntityLoader)
 *    to compute the diff, and that reload fires `afterLoad`. An eager stored attribute would
 *    then be downloaded just to be compared with a key. While that loader runs, attrstore
 *    leaves keys as they are: saving an unchanged entity downloads nothing.
 *
 * 2. `update(criteria, partial)` and `delete(criteria)` (and their QueryBuilder forms) fire
 *    `beforeUpdate` / `beforeRemove` without the affected rows, so the objects they
 *    supersede or remove would be unknown. attrstore selects the affected keys with the
 *    same WHERE first, in the same query runner (and transaction), and hands them to the
 *    subscriber through an AsyncLocalStorage.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { createRequire } from 'node:module'
import path from 'node:path'
import type { DataSource, EntityMetadata, ObjectLiteral, QueryBuilder } from 'typeorm'
import { storedColumns } from './registry.js'

const require = createRequire(import.meta.url)

/** Rows affected by the update or delete statement being executed. */
export interface AffectedRows {
  metadata: EntityMetadata
  rows: ObjectLiteral[]
}

const reloadingForPersistence = new AsyncLocalStorage<true>()
const affectedRows = new AsyncLocalStorage<AffectedRows>()

/** True inside TypeORM's reload of rows it is about to persist: leave keys alone. */
export function isReloadingForPersistence(): boolean {
  return reloadingForPersistence.getStore() === true
}

/** The rows the current update/delete statement affects, selected before it ran. */
export function currentAffectedRows(metadata: EntityMetadata): ObjectLiteral[] | undefined {
  const store = affectedRows.getStore()
  return store && store.metadata === metadata ? store.rows : undefined
}

const installed = new Map<string, boolean>()

type Executable = { prototype: { execute(this: QueryBuilder<ObjectLiteral>): Promise<unknown> } }

/**
 * Where the copy of TypeORM that `dataSource` comes from is installed: an application may
 * hold more than one copy, and the wrappers must go on the one it uses.
 */
function typeormRootOf(dataSource: DataSource): string {
  for (const loaded of Object.values(require.cache)) {
    const exported = loaded?.exports as { DataSource?: unknown } | undefined
    if (
      exported?.DataSource === dataSource.constructor &&
      loaded?.filename.endsWith(`${path.sep}index.js`)
    ) {
      return path.dirname(loaded.filename)
    }
  }
  return path.dirname(require.resolve('typeorm'))
}

/** Installs the wrappers once per TypeORM copy. Returns whether they could be installed. */
export function installHooks(dataSource: DataSource): boolean {
  const root = typeormRootOf(dataSource)
  const known = installed.get(root)
  if (known !== undefined) return known
  const load = (file: string): Record<string, unknown> =>
    require(path.join(root, file)) as Record<string, unknown>
  try {
    const { SubjectDatabaseEntityLoader } = load('persistence/SubjectDatabaseEntityLoader.js') as {
      SubjectDatabaseEntityLoader: { prototype: { load(...args: unknown[]): Promise<unknown> } }
    }
    const reload = SubjectDatabaseEntityLoader.prototype.load
    SubjectDatabaseEntityLoader.prototype.load = function (this: unknown, ...args: unknown[]) {
      return reloadingForPersistence.run(true, () => reload.apply(this, args))
    }
    const { UpdateQueryBuilder } = load('query-builder/UpdateQueryBuilder.js') as {
      UpdateQueryBuilder: Executable
    }
    const { DeleteQueryBuilder } = load('query-builder/DeleteQueryBuilder.js') as {
      DeleteQueryBuilder: Executable
    }
    wrapExecute(UpdateQueryBuilder, (builder, metadata) => {
      const values = (builder.expressionMap.valuesSet ?? {}) as ObjectLiteral
      return storedColumns(metadata).some(
        ({ column }) => column.getEntityValue(values) !== undefined,
      )
    })
    wrapExecute(DeleteQueryBuilder, () => true)
    installed.set(root, true)
    return true
  } catch (error) {
    console.warn(
      '[attrstore] could not hook into this TypeORM version; saves of unchanged eager attributes will download ' +
        'them, and update(criteria)/delete(criteria) will leave superseded objects to garbage collection:',
      (error as Error).message,
    )
    installed.set(root, false)
    return false
  }
}

function wrapExecute(
  builderClass: Executable,
  touchesStoredColumns: (builder: QueryBuilder<ObjectLiteral>, metadata: EntityMetadata) => boolean,
): void {
  const execute = builderClass.prototype.execute
  builderClass.prototype.execute = async function (this: QueryBuilder<ObjectLiteral>) {
    const alias = this.expressionMap.mainAlias
    const metadata = alias?.hasMetadata ? alias.metadata : undefined
    if (
      !metadata ||
      !this.expressionMap.callListeners ||
      !storedColumns(metadata).length ||
      !touchesStoredColumns(this, metadata)
    ) {
      return execute.call(this)
    }
    const rows = await selectAffectedRows(this, metadata)
    return affectedRows.run({ metadata, rows }, () => execute.call(this))
  }
}

/** The affected rows' primary and stored columns, by the statement's own WHERE. */
async function selectAffectedRows(
  builder: QueryBuilder<ObjectLiteral>,
  metadata: EntityMetadata,
): Promise<ObjectLiteral[]> {
  const alias = builder.expressionMap.mainAlias!.name
  const columns = [
    ...metadata.primaryColumns,
    ...storedColumns(metadata).map(({ column }) => column),
  ]
  const select = builder
    .clone()
    .select(columns.map((column) => `${alias}.${column.propertyPath}`))
    .withDeleted()
  // Keys only: no downloads for rows about to be updated or deleted.
  return reloadingForPersistence.run(true, () => select.getMany())
}
