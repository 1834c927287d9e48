/**
 * The reference checks after a commit, against a storage whose references may carry
 * versions (`objectKey`) or declare they do not (`versionedReferences: false`):
 *
 * - with versions possible, a row holding `<key>//<version>` keeps the object of `<key>`,
 *   on PostgreSQL whether the key column's collation orders by code point (an index range)
 *   or not (ICU: `LIKE`), and on SQLite;
 * - declared unversioned, references are compared as they are, with one array parameter
 *   on PostgreSQL;
 * - on PostgreSQL, one statement asks every column using the storage.
 */
import 'reflect-metadata'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Entity, PrimaryGeneratedColumn, type DataSource, type Logger } from 'typeorm'
import { MemoryStorage } from '@attrstore/core'
import { getStorageKey, setStorage, StoredAttribute } from '@attrstore/typeorm'
import {
  startDatabaseServer,
  type DatabaseKind,
  type DatabaseServer,
} from '@attrstore/testing/world'

// Explicit column types everywhere: vitest's transformer emits no decorator metadata.

@Entity('refq_note')
class Note {
  @PrimaryGeneratedColumn() id!: number
  @StoredAttribute({ load: 'none' }) data!: unknown
}

@Entity('refq_memo')
class Memo {
  @PrimaryGeneratedColumn() id!: number
  @StoredAttribute({ load: 'none' }) data!: unknown
}

/** A memory storage whose references may name a version, as S3's do: `<key>//<version>`. */
class QualifiedMemoryStorage extends MemoryStorage {
  constructor(readonly versionedReferences: boolean | undefined) {
    super()
  }

  objectKey(reference: string): string {
    const at = reference.indexOf('//')
    return at === -1 ? reference : reference.slice(0, at)
  }
}

/** The SQL statements run while `logging` is on. */
class StatementLog implements Logger {
  logging = false
  readonly statements: string[] = []
  logQuery(query: string): void {
    if (this.logging) this.statements.push(query)
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}

  /** The reference checks among the logged statements. */
  referenceChecks(): string[] {
    return this.statements.filter((sql) => /refq_(note|memo)/.test(sql) && /^SELECT/i.test(sql))
  }
}

interface Setup {
  dataSource: DataSource
  storage: QualifiedMemoryStorage
  log: StatementLog
}

async function setUp(
  server: DatabaseServer,
  versionedReferences: boolean | undefined,
  collation?: string,
): Promise<Setup> {
  const dataSource = await server.createDataSource({ entities: [Note, Memo] })
  const log = new StatementLog()
  dataSource.setOptions({ logger: log, logging: true })
  const storage = new QualifiedMemoryStorage(versionedReferences)
  setStorage(dataSource, Note, 'data', storage)
  setStorage(dataSource, Memo, 'data', storage)
  await dataSource.initialize()
  if (collation) {
    for (const table of ['refq_note', 'refq_memo'])
      await dataSource.query(
        `ALTER TABLE ${table} ALTER COLUMN data TYPE varchar(1024) COLLATE "${collation}"`,
      )
  }
  return { dataSource, storage, log }
}

/** Notes with bodies, and a memo made to hold `<key of the first>//v1` by raw SQL. */
async function aliased(setup: Setup, count: number): Promise<{ notes: Note[]; keys: string[] }> {
  const notes = setup.dataSource.getRepository(Note)
  const saved = await notes.save(
    Array.from({ length: count }, (_, i) => notes.create({ data: `body ${i}` })),
  )
  const keys = saved.map((note) => getStorageKey(note, 'data')!)
  await setup.dataSource.query(
    `INSERT INTO refq_memo (data) VALUES (${setup.dataSource.options.type === 'postgres' ? '$1' : '?'})`,
    [`${keys[0]}//v1`],
  )
  return { notes: saved, keys }
}

async function existing(storage: MemoryStorage, keys: string[]): Promise<string[]> {
  const found: string[] = []
  for (const key of keys) if (await storage.exists(key)) found.push(key)
  return found
}

for (const kind of ['sqlite', 'postgres'] as DatabaseKind[]) {
  describe(`reference checks (${kind})`, () => {
    let server: DatabaseServer
    const open: DataSource[] = []
    const make = async (versions: boolean | undefined, collation?: string) => {
      const setup = await setUp(server, versions, collation)
      open.push(setup.dataSource)
      return setup
    }
    beforeAll(async () => {
      server = await startDatabaseServer(kind)
    })
    afterAll(async () => {
      for (const dataSource of open) await dataSource.destroy()
      await server?.stop()
    })

    it('versions possible: removing many rows keeps the object a row holds as <key>//<version>', async () => {
      const setup = await make(undefined)
      const { notes, keys } = await aliased(setup, 4)
      await setup.dataSource.getRepository(Note).remove(notes)
      expect(await existing(setup.storage, keys)).toEqual([keys[0]])
    })

    it('versions possible: removing one row keeps the object a row holds as <key>//<version>', async () => {
      const setup = await make(true)
      const { notes, keys } = await aliased(setup, 1)
      await setup.dataSource.getRepository(Note).remove(notes[0]!)
      expect(await existing(setup.storage, keys)).toEqual([keys[0]])
    })

    it('declared unversioned: references are compared as they are (<key>//<version> is not <key>)', async () => {
      const setup = await make(false)
      const { notes, keys } = await aliased(setup, 4)
      await setup.dataSource.getRepository(Note).remove(notes)
      expect(await existing(setup.storage, keys)).toEqual([])
    })

    it('declared unversioned: a row holding the key itself keeps its object', async () => {
      const setup = await make(false)
      const { notes, keys } = await aliased(setup, 3)
      const memos = setup.dataSource.getRepository(Memo)
      await setup.dataSource.query(
        `UPDATE refq_memo SET data = ${kind === 'postgres' ? '$1' : '?'}`,
        [keys[1]],
      )
      await setup.dataSource.getRepository(Note).remove(notes)
      expect(await existing(setup.storage, keys)).toEqual([keys[1]])
      expect(await memos.count()).toBe(1)
    })

    if (kind === 'postgres') {
      it('one statement asks both columns: = ANY with one array parameter when declared unversioned', async () => {
        const setup = await make(false)
        const { notes } = await aliased(setup, 5)
        setup.log.logging = true
        await setup.dataSource.getRepository(Note).remove(notes)
        const checks = setup.log.referenceChecks().filter((sql) => !/^SELECT "Note"/.test(sql))
        expect(checks).toHaveLength(1)
        expect(checks[0]).toMatch(/refq_note.*= ANY\(\$1::text\[\]\).*refq_memo/s)
        expect(checks[0]).not.toMatch(/LIKE|>=/)
      })

      it('versions possible, code-point collation: one statement with index ranges, no LIKE', async () => {
        const setup = await make(undefined)
        const { notes } = await aliased(setup, 5)
        setup.log.logging = true
        await setup.dataSource.getRepository(Note).remove(notes)
        const checks = setup.log.referenceChecks().filter((sql) => !/^SELECT "Note"/.test(sql))
        expect(checks).toHaveLength(1)
        expect(checks[0]).toMatch(/>= o\.object \|\| '\/\/'/)
        expect(checks[0]).not.toMatch(/LIKE/)
      })

      it('versions possible, ICU collation: LIKE, and the object a row holds as <key>//<version> is kept', async () => {
        const setup = await make(undefined, 'und-x-icu')
        const { notes, keys } = await aliased(setup, 4)
        setup.log.logging = true
        await setup.dataSource.getRepository(Note).remove(notes)
        expect(await existing(setup.storage, keys)).toEqual([keys[0]])
        const checks = setup.log.referenceChecks().filter((sql) => !/^SELECT "Note"/.test(sql))
        expect(checks.length).toBeGreaterThan(0)
        expect(checks.every((sql) => /LIKE/.test(sql))).toBe(true)
      })
    }
  })
}
