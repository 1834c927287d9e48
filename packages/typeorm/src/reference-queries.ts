/**
 * The SQL of the reference checks: which of some keys a column holds, or holds another
 * reference of the same object of (`<object key>//<version>`, see `objectKey` in
 * `@attrstore/core`).
 *
 * - A storage whose references carry no versions (`versionedReferences: false`, or no
 *   `objectKey`): the keys themselves, `column = ANY($1)` on PostgreSQL (one array
 *   parameter), `column IN (...)` elsewhere: an index lookup.
 * - References that may carry versions, on PostgreSQL, where the column's collation orders
 *   strings by code point (C, POSIX, C.UTF-8, the builtin provider's): the keys with
 *   `= ANY`, and each object's other references as the index range
 *   `[<object>//, <object>/0)`, which under such a collation holds exactly the strings
 *   starting with `<object>//` ('0' follows '/').
 * - Elsewhere (SQLite, MySQL, PostgreSQL under a linguistic collation, where that range
 *   is no prefix and `LIKE` cannot use a plain btree index): `IN (...) OR column LIKE
 *   '<object>//%'` per object, which scans the table.
 *
 * Every answer is a superset the caller compares exactly (SQLite's LIKE ignores ASCII
 * case; a case-insensitive collation matches other keys).
 */
import type { AttributeStorage } from '@attrstore/core'
import { objectKeyOf } from '@attrstore/attacher'
import type { DataSource, EntityMetadata, QueryRunner } from 'typeorm'
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js'

/** Whether a reference of `storage` may be another reference of its object (a version of it). */
export function mayCarryVersions(storage: AttributeStorage): boolean {
  return storage.objectKey !== undefined && storage.versionedReferences !== false
}

/** One (entity, column) whose storage addresses the objects asked about. */
export interface ReferencingColumn {
  metadata: EntityMetadata
  column: ColumnMetadata
}

export class ReferenceQueries {
  /** Per column: whether its collation orders by code point (PostgreSQL), asked once. */
  private readonly codePointOrder = new WeakMap<ColumnMetadata, Promise<boolean>>()

  constructor(private readonly dataSource: DataSource) {}

  private get postgres(): boolean {
    return this.dataSource.options.type === 'postgres'
  }

  /**
   * The references the columns `where` hold that are one of `keys` (under the database's
   * comparison) or, when `objects` is given (references may carry versions), address one
   * of `objects` (object keys). On PostgreSQL, one statement for every column it can ask
   * with `= ANY` and index ranges; elsewhere, one per column.
   */
  async among(
    where: readonly ReferencingColumn[],
    keys: readonly string[],
    objects: readonly string[] | undefined,
    queryRunner: QueryRunner | undefined,
  ): Promise<Array<string | null>> {
    const found: Array<string | null> = []
    const together: ReferencingColumn[] = []
    for (const column of where) {
      if (this.postgres && (!objects || (await this.ordersByCodePoint(column, queryRunner))))
        together.push(column)
      else if (objects) found.push(...(await this.byLike(column, keys, objects, queryRunner)))
      else found.push(...(await this.byIn(column, keys, queryRunner)))
    }
    if (together.length) found.push(...(await this.byArray(together, keys, objects, queryRunner)))
    return found
  }

  /** `column IN (...)`: the keys themselves. */
  private async byIn(
    where: ReferencingColumn,
    keys: readonly string[],
    queryRunner: QueryRunner | undefined,
  ): Promise<Array<string | null>> {
    const field = `owner.${where.column.propertyPath}`
    const rows = await this.dataSource
      .createQueryBuilder(where.metadata.target, 'owner', queryRunner)
      .withDeleted()
      .select(field, 'reference')
      .where(`${field} IN (:...keys)`, { keys })
      .getRawMany<{ reference: string | null }>()
    return rows.map((row) => row.reference)
  }

  /** `column IN (...) OR column LIKE '<object>//%' ...`: a scan of the table. */
  private async byLike(
    where: ReferencingColumn,
    keys: readonly string[],
    objects: readonly string[],
    queryRunner: QueryRunner | undefined,
  ): Promise<Array<string | null>> {
    const field = `owner.${where.column.propertyPath}`
    const likes = objects.map((_, index) => `${field} LIKE :qualified${index} ESCAPE '\\'`)
    const rows = await this.dataSource
      .createQueryBuilder(where.metadata.target, 'owner', queryRunner)
      .withDeleted()
      .select(field, 'reference')
      .where(`(${field} IN (:...exact) OR ${likes.join(' OR ')})`, {
        exact: [...new Set([...objects, ...keys])],
        ...Object.fromEntries(
          objects.map((object, index) => [
            `qualified${index}`,
            `${object.replace(/[\\%_]/g, (c) => `\\${c}`)}//%`,
          ]),
        ),
      })
      .getRawMany<{ reference: string | null }>()
    return rows.map((row) => row.reference)
  }

  /**
   * PostgreSQL: every column of `where` in one statement, `= ANY($1)` (one array
   * parameter) and, with `objects`, one index range per object (code-point collations
   * only: see the module's comment).
   */
  private async byArray(
    where: readonly ReferencingColumn[],
    keys: readonly string[],
    objects: readonly string[] | undefined,
    queryRunner: QueryRunner | undefined,
  ): Promise<Array<string | null>> {
    const parts: string[] = []
    for (const { metadata, column } of where) {
      const table = this.tableName(metadata)
      const field = `t.${this.dataSource.driver.escape(column.databaseName)}`
      parts.push(`SELECT ${field} AS reference FROM ${table} t WHERE ${field} = ANY($1::text[])`)
      if (objects)
        parts.push(
          `SELECT r.reference FROM unnest($2::text[]) AS o(object) CROSS JOIN LATERAL ` +
            `(SELECT ${field} AS reference FROM ${table} t ` +
            `WHERE ${field} >= o.object || '//' AND ${field} < o.object || '/0') r`,
        )
    }
    const parameters = objects ? [[...new Set([...objects, ...keys])], [...objects]] : [[...keys]]
    const rows = (await (queryRunner ?? this.dataSource).query(
      parts.join(' UNION ALL '),
      parameters,
    )) as Array<{ reference: string | null }>
    return rows.map((row) => row.reference)
  }

  private tableName(metadata: EntityMetadata): string {
    const { driver } = this.dataSource
    const table = driver.escape(metadata.tableName)
    return metadata.schema ? `${driver.escape(metadata.schema)}.${table}` : table
  }

  /**
   * Whether the column's collation orders strings by code point, so that a range is a
   * prefix: libc's C, POSIX and C.UTF-8, and the builtin provider (PostgreSQL 17+, code
   * point order in all its locales). Anything else, and any failure to tell, says no.
   */
  private ordersByCodePoint(
    where: ReferencingColumn,
    queryRunner: QueryRunner | undefined,
  ): Promise<boolean> {
    let known = this.codePointOrder.get(where.column)
    if (!known) {
      known = this.askCollation(where, queryRunner)
      this.codePointOrder.set(where.column, known)
      known.catch(() => this.codePointOrder.delete(where.column))
    }
    return known.catch(() => false)
  }

  private async askCollation(
    where: ReferencingColumn,
    queryRunner: QueryRunner | undefined,
  ): Promise<boolean> {
    // to_jsonb: datlocprovider exists from PostgreSQL 15 on (before, libc only).
    const rows = (await (queryRunner ?? this.dataSource).query(
      `SELECT co.collname AS name, co.collprovider AS provider, co.collcollate AS collate,
         to_jsonb(d) ->> 'datlocprovider' AS "databaseProvider", d.datcollate AS "databaseCollate"
       FROM pg_attribute a JOIN pg_collation co ON co.oid = a.attcollation
         CROSS JOIN pg_database d
       WHERE a.attrelid = $1::regclass AND a.attname = $2 AND d.datname = current_database()`,
      [this.tableName(where.metadata), where.column.databaseName],
    )) as Array<{
      name: string
      provider: string
      collate: string | null
      databaseProvider: string | null
      databaseCollate: string | null
    }>
    const found = rows[0]
    if (!found) return false
    const [provider, collate] =
      found.name === 'default'
        ? [found.databaseProvider ?? 'c', found.databaseCollate]
        : [found.provider, found.collate]
    if (provider === 'b') return true
    return provider === 'c' && collate !== null && CODE_POINT_LIBC_LOCALES.has(collate)
  }
}

/** libc locales whose collation is code point order (glibc's C.UTF-8 is strictly so). */
const CODE_POINT_LIBC_LOCALES = new Set(['C', 'POSIX', 'C.UTF-8', 'C.utf8'])

/** The object keys of `keys`, each with the keys that address it. */
export function byObject(
  storage: AttributeStorage,
  keys: readonly string[],
): Map<string, string[]> {
  return Map.groupBy(keys, (key) => objectKeyOf(storage, key))
}
