/**
 * Where TypeORM's public subscriber events do not tell enough, attrstore wraps a few
 * internal methods. Each wrapper only adds context; none changes what TypeORM does.
 *
 * 1. Operation boundaries. `save`/`remove`/`softRemove`/`recover` (EntityPersistExecutor)
 *    and the insert/update/delete query builders run inside an "operation scope". Work done
 *    outside a transaction settles when its operation ends: committed objects are cleaned
 *    up on success, uploads are deleted on failure. Scoping by operation rather than by
 *    query runner keeps concurrent operations apart where they share one connection
 *    (better-sqlite3).
 *
 * 2. Before saving an existing entity, TypeORM reloads its row (SubjectDatabaseEntityLoader)
 *    to compute the diff, and that reload fires `afterLoad`. An eager stored attribute would
 *    then be downloaded just to be compared with a key. While that loader runs, attrstore
 *    leaves keys as they are: saving an unchanged entity downloads nothing.
 *
 * 3. `update(criteria, partial)` and `delete(criteria)` (and their QueryBuilder forms) fire
 *    `beforeUpdate` / `beforeRemove` without the affected rows, so the objects they
 *    supersede or remove would be unknown. attrstore selects the affected keys with the
 *    same WHERE first, in the same query runner (and transaction).
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { createRequire } from 'node:module'
import path from 'node:path'
import { ConfigurationError } from '@attrstore/core'
import type { DataSource, EntityMetadata, ObjectLiteral, QueryBuilder } from 'typeorm'
import { storedColumns } from './registry.js'

const require = createRequire(import.meta.url)

/** One user-level operation (a save, an insert, an update...), while it runs. */
export interface OperationScope {
  /** Called once when the operation ends, with whether it succeeded. */
  readonly onEnd: Array<(succeeded: boolean) => Promise<void>>
}

/** Rows affected by the update or delete statement being executed. */
interface AffectedRows {
  metadata: EntityMetadata
  rows: ObjectLiteral[]
}

const operations = new AsyncLocalStorage<OperationScope>()
const reloadingForPersistence = new AsyncLocalStorage<true>()
const affectedRows = new AsyncLocalStorage<AffectedRows>()

/** The operation being executed, if any. */
export function currentOperation(): OperationScope | undefined {
  return operations.getStore()
}

/** True inside TypeORM's reload of rows it is about to persist: leave keys alone. */
export function isReloadingForPersistence(): boolean {
  return reloadingForPersistence.getStore() === true
}

/** The rows the current update/delete statement affects, selected before it ran. */
export function currentAffectedRows(metadata: EntityMetadata): ObjectLiteral[] | undefined {
  const store = affectedRows.getStore()
  return store && store.metadata === metadata ? store.rows : undefined
}

/** Runs `task` as one operation, or as part of the enclosing one. */
async function asOperation<T>(task: () => Promise<T>): Promise<T> {
  if (operations.getStore()) return task()
  const scope: OperationScope = { onEnd: [] }
  return operations.run(scope, async () => {
    let result: T
    try {
      result = await task()
    } catch (error) {
      for (const end of scope.onEnd) await end(false)
      throw error
    }
    for (const end of scope.onEnd) await end(true)
    return result
  })
}

type Method = (this: unknown, ...args: unknown[]) => Promise<unknown>
type Prototype = Record<string, Method>

const installed = new Set<string>()

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

/** Installs the wrappers once per TypeORM copy; refuses a TypeORM without the expected internals. */
export function installHooks(dataSource: DataSource): void {
  const root = typeormRootOf(dataSource)
  if (installed.has(root)) return
  const prototypeOf = (file: string, name: string): Prototype => {
    const exported = require(path.join(root, file)) as Record<
      string,
      { prototype: Prototype } | undefined
    >
    const prototype = exported[name]?.prototype
    if (!prototype) throw new Error(`${name} not found in ${file}`)
    return prototype
  }
  const wrap = (
    prototype: Prototype,
    method: string,
    wrapper: (original: Method) => Method,
  ): void => {
    const original = prototype[method]
    if (typeof original !== 'function') throw new Error(`${method} not found`)
    prototype[method] = wrapper(original)
  }
  try {
    const persist = prototypeOf('persistence/EntityPersistExecutor.js', 'EntityPersistExecutor')
    const reload = prototypeOf(
      'persistence/SubjectDatabaseEntityLoader.js',
      'SubjectDatabaseEntityLoader',
    )
    const insert = prototypeOf('query-builder/InsertQueryBuilder.js', 'InsertQueryBuilder')
    const update = prototypeOf('query-builder/UpdateQueryBuilder.js', 'UpdateQueryBuilder')
    const remove = prototypeOf('query-builder/DeleteQueryBuilder.js', 'DeleteQueryBuilder')
    const softRemove = prototypeOf(
      'query-builder/SoftDeleteQueryBuilder.js',
      'SoftDeleteQueryBuilder',
    )

    wrap(
      reload,
      'load',
      (original) =>
        function (this: unknown, ...args: unknown[]) {
          return reloadingForPersistence.run(true, () => original.apply(this, args))
        },
    )
    for (const prototype of [persist, insert, softRemove]) {
      wrap(
        prototype,
        'execute',
        (original) =>
          function (this: unknown, ...args: unknown[]) {
            return asOperation(() => original.apply(this, args))
          },
      )
    }
    const touchesStoredColumns = (
      builder: QueryBuilder<ObjectLiteral>,
      metadata: EntityMetadata,
    ): boolean => {
      const values = (builder.expressionMap.valuesSet ?? {}) as ObjectLiteral
      return storedColumns(metadata).some(
        ({ column }) => column.getEntityValue(values) !== undefined,
      )
    }
    wrap(update, 'execute', (original) => withAffectedRows(original, touchesStoredColumns))
    wrap(remove, 'execute', (original) => withAffectedRows(original, () => true))
  } catch (error) {
    throw new ConfigurationError(
      `attrstore could not hook into the TypeORM installed at ${root} (${(error as Error).message}). ` +
        'attrstore supports TypeORM 1.x; check the installed version.',
      { cause: error },
    )
  }
  installed.add(root)
}

function withAffectedRows(
  original: Method,
  touchesStoredColumns: (builder: QueryBuilder<ObjectLiteral>, metadata: EntityMetadata) => boolean,
): Method {
  return function (this: unknown, ...args: unknown[]) {
    const builder = this as QueryBuilder<ObjectLiteral>
    return asOperation(async () => {
      const alias = builder.expressionMap.mainAlias
      const metadata = alias?.hasMetadata ? alias.metadata : undefined
      if (
        !metadata ||
        !builder.expressionMap.callListeners ||
        !storedColumns(metadata).length ||
        !touchesStoredColumns(builder, metadata)
      ) {
        return original.apply(this, args)
      }
      const rows = await selectAffectedRows(builder, metadata)
      return affectedRows.run({ metadata, rows }, () => original.apply(this, args))
    })
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
