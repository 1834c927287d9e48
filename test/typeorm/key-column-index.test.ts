/**
 * `@StoredAttribute()` indexes its key column (the reference checks after every update and
 * removal look keys up by it): `synchronize` creates the index, the schema builder's
 * pending SQL (what `typeorm migration:generate` writes) holds it, `index: false` opts out,
 * a string names it, and an index the entity declares itself on the column replaces it.
 */
import 'reflect-metadata'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Column, Entity, Index, PrimaryGeneratedColumn, Unique, type DataSource } from 'typeorm'
import { StoredAttribute } from '@attrstore/typeorm'
import {
  startDatabaseServer,
  type DatabaseKind,
  type DatabaseServer,
} from '@attrstore/testing/world'

// Explicit column types everywhere: vitest's transformer emits no decorator metadata.

@Entity('key_index_default')
class DefaultIndex {
  @PrimaryGeneratedColumn() id!: number
  @StoredAttribute() data!: unknown
}

@Entity('key_index_none')
class NoIndex {
  @PrimaryGeneratedColumn() id!: number
  @StoredAttribute({ index: false }) data!: unknown
}

@Entity('key_index_named')
class NamedIndex {
  @PrimaryGeneratedColumn() id!: number
  @StoredAttribute({ index: 'key_index_named_data' }) data!: unknown
}

/** `@Index()` written above: TypeORM applies it after `@StoredAttribute()`. */
@Entity('key_index_own_above')
class OwnIndexAbove {
  @PrimaryGeneratedColumn() id!: number
  @Index('key_index_own_above_data')
  @StoredAttribute()
  data!: unknown
}

/** `@Index()` written below: TypeORM applies it before `@StoredAttribute()`. */
@Entity('key_index_own_below')
class OwnIndexBelow {
  @PrimaryGeneratedColumn() id!: number
  @StoredAttribute()
  @Index('key_index_own_below_data')
  data!: unknown
}

/** A class-level index, applied after every property decorator; a function column list. */
@Entity('key_index_own_class')
@Index('key_index_own_class_data', (entity: OwnClassIndex) => [entity.data])
class OwnClassIndex {
  @PrimaryGeneratedColumn() id!: number
  @StoredAttribute() data!: unknown
}

/** A unique constraint, which the database backs with an index. */
@Entity('key_index_own_unique')
@Unique('key_index_own_unique_data', ['data'])
class OwnUnique {
  @PrimaryGeneratedColumn() id!: number
  @StoredAttribute() data!: unknown
}

/** A composite index on the key column and another does not replace the key column's own. */
@Entity('key_index_composite')
@Index('key_index_composite_name_data', ['name', 'data'])
class CompositeIndex {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar' }) name!: string
  @StoredAttribute() data!: unknown
}

class Content {
  @Column({ type: 'varchar', nullable: true }) fileName!: string | null
  @StoredAttribute() data!: unknown
}

/** A stored attribute of an embedded class: the index is on the entity's table. */
@Entity('key_index_embedded')
class EmbeddedIndex {
  @PrimaryGeneratedColumn() id!: number
  @Column(() => Content) content!: Content
}

const ENTITIES = [
  DefaultIndex,
  NoIndex,
  NamedIndex,
  OwnIndexAbove,
  OwnIndexBelow,
  OwnClassIndex,
  OwnUnique,
  CompositeIndex,
  EmbeddedIndex,
]

/** An index of a table (primary keys left out): its name, columns in order, and uniqueness. */
interface TableIndex {
  name: string
  columns: string[]
  unique: boolean
}

/** The indexes of `table`, as the database lists them. */
async function indexesOf(dataSource: DataSource, table: string): Promise<TableIndex[]> {
  if (dataSource.options.type === 'postgres') {
    const rows: Array<{ name: string; columns: string[]; unique: boolean }> =
      await dataSource.query(
        `SELECT i.relname AS name, ix.indisunique AS unique,
                array_agg(a.attname::text ORDER BY k.position) AS columns
           FROM pg_index ix
           JOIN pg_class t ON t.oid = ix.indrelid
           JOIN pg_class i ON i.oid = ix.indexrelid
           CROSS JOIN LATERAL unnest(ix.indkey) WITH ORDINALITY AS k(attnum, position)
           JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum
          WHERE t.relname = $1 AND t.relnamespace = current_schema()::regnamespace
            AND NOT ix.indisprimary
          GROUP BY i.relname, ix.indisunique`,
        [table],
      )
    return rows.map(({ name, columns, unique }) => ({ name, columns, unique }))
  }
  const rows: Array<{ name: string; column: string; unique: number }> = await dataSource.query(
    `SELECT list.name AS name, info.name AS "column", list."unique" AS "unique"
       FROM pragma_index_list(?) AS list, pragma_index_info(list.name) AS info
      WHERE list.origin <> 'pk'
      ORDER BY list.name, info.seqno`,
    [table],
  )
  const byName = new Map<string, TableIndex>()
  for (const { name, column, unique } of rows) {
    const index = byName.get(name) ?? { name, columns: [], unique: unique === 1 }
    index.columns.push(column)
    byName.set(name, index)
  }
  return [...byName.values()]
}

/** The indexes of `entity`'s table on its key column `propertyPath` alone. */
async function keyColumnIndexes(
  dataSource: DataSource,
  entity: (typeof ENTITIES)[number],
  propertyPath = 'data',
): Promise<TableIndex[]> {
  const metadata = dataSource.getMetadata(entity)
  const column = metadata.findColumnWithPropertyPath(propertyPath)!.databaseName
  const indexes = await indexesOf(dataSource, metadata.tableName)
  return indexes.filter((index) => index.columns.length === 1 && index.columns[0] === column)
}

for (const kind of ['sqlite', 'postgres'] satisfies DatabaseKind[]) {
  describe(`the key column's index (${kind})`, () => {
    let server: DatabaseServer
    let dataSource: DataSource

    beforeAll(async () => {
      server = await startDatabaseServer(kind)
      dataSource = await server.createDataSource({ entities: ENTITIES })
      await dataSource.initialize()
    })
    afterAll(async () => {
      if (dataSource?.isInitialized) await dataSource.destroy()
      await server?.stop()
    })

    it('synchronize creates a non-unique index on the key column by default', async () => {
      const indexes = await keyColumnIndexes(dataSource, DefaultIndex)
      expect(indexes).toHaveLength(1)
      expect(indexes[0]!.unique).toBe(false)
    })

    it('index: false creates none', async () => {
      expect(await keyColumnIndexes(dataSource, NoIndex)).toEqual([])
      expect(await indexesOf(dataSource, 'key_index_none')).toEqual([])
    })

    it('a string names the index', async () => {
      expect(await keyColumnIndexes(dataSource, NamedIndex)).toEqual([
        { name: 'key_index_named_data', columns: ['data'], unique: false },
      ])
    })

    it('a stored attribute of an embedded class gets its index on the entity table', async () => {
      const indexes = await keyColumnIndexes(dataSource, EmbeddedIndex, 'content.data')
      expect(indexes).toHaveLength(1)
      expect(indexes[0]!.unique).toBe(false)
    })

    it.each([
      ['@Index() above @StoredAttribute()', OwnIndexAbove, 'key_index_own_above_data', false],
      ['@Index() below @StoredAttribute()', OwnIndexBelow, 'key_index_own_below_data', false],
      ['a class-level @Index((e) => [e.data])', OwnClassIndex, 'key_index_own_class_data', false],
      // SQLite backs a unique constraint with an index of its own naming (sqlite_autoindex_…).
      ['a class-level @Unique([data])', OwnUnique, 'key_index_own_unique_data', true],
    ])(
      'an entity declaring %s ends with exactly its own index on the column',
      async (_, entity, name, unique) => {
        const indexes = await keyColumnIndexes(dataSource, entity)
        expect(indexes).toHaveLength(1)
        expect(indexes[0]).toMatchObject({
          unique,
          ...(kind === 'sqlite' && unique ? {} : { name }),
        })
      },
    )

    it('a composite index on the key column and another keeps the key column its own', async () => {
      expect(await keyColumnIndexes(dataSource, CompositeIndex)).toHaveLength(1)
      const composite = (await indexesOf(dataSource, 'key_index_composite')).filter(
        (index) => index.name === 'key_index_composite_name_data',
      )
      expect(composite).toEqual([
        { name: 'key_index_composite_name_data', columns: ['name', 'data'], unique: false },
      ])
    })

    it('a synchronized schema has nothing pending: the schema builder sees the index it made', async () => {
      const pending = await dataSource.driver.createSchemaBuilder().log()
      expect(pending.upQueries.map((query) => query.query)).toEqual([])
    })

    it("the schema builder's pending SQL for a fresh database (migration:generate) creates the index", async () => {
      const fresh = await server.createDataSource({ entities: ENTITIES, synchronize: false })
      await fresh.initialize()
      try {
        const pending = await fresh.driver.createSchemaBuilder().log()
        const createIndexes = pending.upQueries
          .map((query) => query.query)
          .filter((query) => /^CREATE (UNIQUE )?INDEX/i.test(query))
        const on = (table: string) => createIndexes.filter((query) => query.includes(`"${table}"`))
        const defaultName = fresh.getMetadata(DefaultIndex).indices[0]!.name
        expect(on('key_index_default')).toEqual([
          expect.stringMatching(
            new RegExp(`^CREATE INDEX "${defaultName}" ON "key_index_default"\\s+\\("data"\\)`),
          ),
        ])
        expect(on('key_index_named')).toEqual([
          expect.stringMatching(
            /^CREATE INDEX "key_index_named_data" ON "key_index_named"\s+\("data"\)/,
          ),
        ])
        expect(on('key_index_none')).toEqual([])
        expect(on('key_index_own_above')).toEqual([
          expect.stringMatching(/^CREATE INDEX "key_index_own_above_data"/),
        ])
      } finally {
        await fresh.destroy()
      }
    })
  })
}
