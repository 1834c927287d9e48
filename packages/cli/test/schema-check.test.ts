import 'reflect-metadata'
// The schema check before any work: it refuses a missing table or column of what the command
// works on, and nothing else (views, names it cannot introspect, unrelated entities).
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import { createRequire } from 'node:module'
import { MemoryStorage } from '@attrstore/core'
import { startPostgres, type TestPostgres } from '@attrstore/testing'
import { setStorage, storageBindings, StoredAttribute } from '@attrstore/typeorm'
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Binding } from '../src/bindings.js'
import { main, type CliIo } from '../src/cli.js'
import { assertColumnExists, assertStoredColumnsExist } from '../src/schema-check.js'
import { FIXTURES } from './support.js'

// better-sqlite3 has no types of its own: the little used here.
interface SqliteDatabase {
  exec(sql: string): void
  close(): void
}
const Database = createRequire(import.meta.url)('better-sqlite3') as new (
  file: string,
) => SqliteDatabase

const DATA_SOURCE = path.join(FIXTURES, 'schema', 'data-source.ts')

async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = ''
  let stderr = ''
  const io: CliIo = {
    stdout: { write: (chunk: string) => ((stdout += chunk), true) } as CliIo['stdout'],
    stderr: { write: (chunk: string) => ((stderr += chunk), true) } as CliIo['stderr'],
  }
  const code = await main([...args, '-d', DATA_SOURCE, '--no-progress'], io)
  return { code, stdout, stderr }
}

describe('the schema check (SQLite)', () => {
  let directory: string
  const saved = { db: process.env.ATTRSTORE_TEST_DB, root: process.env.ATTRSTORE_TEST_ROOT }
  beforeAll(async () => {
    directory = await mkdtemp(path.join(os.tmpdir(), 'attrstore-schema-check-'))
    const file = path.join(directory, 'app.sqlite')
    const db = new Database(file)
    db.exec(`
      CREATE TABLE "invoice" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "number" varchar NOT NULL, "pdf" varchar(1024));
      INSERT INTO "invoice" ("number") VALUES ('I-1'), ('I-2'), ('I-3');
      CREATE VIEW "invoice_view" AS SELECT id, pdf FROM invoice;
      CREATE TABLE "we""ird" ("id" integer PRIMARY KEY AUTOINCREMENT NOT NULL, "body" varchar(1024));
      INSERT INTO "we""ird" ("body") VALUES (NULL);
    `)
    db.close()
    process.env.ATTRSTORE_TEST_DB = file
    process.env.ATTRSTORE_TEST_ROOT = path.join(directory, 'files')
  })
  afterAll(async () => {
    for (const [name, value] of [
      ['ATTRSTORE_TEST_DB', saved.db],
      ['ATTRSTORE_TEST_ROOT', saved.root],
    ] as const) {
      if (value === undefined) delete process.env[name]
      else process.env[name] = value
    }
    if (directory) await rm(directory, { recursive: true, force: true })
  })

  it('stat -e Invoice works while another entity (Report) has no table yet; a view on the same store does not block it', async () => {
    const result = await cli(['stat', '-e', 'Invoice', '--json'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as { attributes: Array<Record<string, unknown>> }
    expect(report.attributes).toMatchObject([{ entity: 'Invoice', attribute: 'pdf', rows: 3 }])
  })

  it('a table with a double quote in its name is not refused by the check', async () => {
    const result = await cli(['stat', '-e', 'Quoted', '--json'])
    expect(result.stderr).toBe('')
    expect(result.code).toBe(0)
    const report = JSON.parse(result.stdout) as { attributes: Array<Record<string, unknown>> }
    expect(report.attributes).toMatchObject([{ entity: 'Quoted', attribute: 'body', rows: 1 }])
  })

  it('stat of everything still names the missing table of Report', async () => {
    const result = await cli(['stat'])
    expect(result.code).toBe(2)
    expect(result.stderr.trimEnd()).toMatch(
      /^attrstore stat: The table "report" of Report\.body does not exist in the database: run the application's migrations first/,
    )
  })
})

@Entity({ name: 'invoice' })
class Invoice {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number
  @Column({ type: 'varchar' }) number!: string
  @StoredAttribute({ load: 'none' }) pdf!: Buffer | null
}

@Entity({ name: 'report' })
class Report {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number
  @StoredAttribute({ load: 'none' }) body!: Buffer | null
}

describe('the schema check (PostgreSQL, the table on the search_path, not in current_schema())', () => {
  let postgres: TestPostgres | undefined
  let unavailable: string | undefined
  beforeAll(async () => {
    postgres = await startPostgres().catch((error: Error) => {
      unavailable = `PostgreSQL is unavailable here: ${error.message}`
      console.warn(`SKIPPED (schema check on the search_path): ${unavailable}`)
      return undefined
    })
  }, 120_000)
  afterAll(() => postgres?.stop())

  it('finds the table the queries resolve, and still names a missing one', async (context) => {
    if (!postgres) return context.skip(unavailable)
    const setup = new DataSource({ type: 'postgres', url: postgres.url })
    await setup.initialize()
    await setup.query('CREATE SCHEMA app')
    await setup.query(
      'CREATE TABLE app.invoice (id serial PRIMARY KEY, number varchar NOT NULL, pdf varchar(1024))',
    )
    // current_schema() stays "public"; the table is found through the search_path only.
    await setup.query(`ALTER DATABASE "${postgres.database}" SET search_path = public, app`)
    await setup.destroy()

    const dataSource = new DataSource({
      type: 'postgres',
      url: postgres.url,
      entities: [Invoice, Report],
    })
    await dataSource.initialize()
    try {
      expect(await dataSource.query('SELECT current_schema() AS schema')).toEqual([
        { schema: 'public' },
      ])
      setStorage(dataSource, Invoice, 'pdf', new MemoryStorage())
      setStorage(dataSource, Report, 'body', new MemoryStorage())
      const bindings = storageBindings(dataSource) as Binding[]
      await expect(
        assertStoredColumnsExist(dataSource, bindings, { entity: 'Invoice' }),
      ).resolves.toBeUndefined()
      await expect(assertStoredColumnsExist(dataSource, bindings)).rejects.toThrow(
        /The table "report" of Report\.body does not exist in the database/,
      )
      await expect(
        assertColumnExists(dataSource, dataSource.getMetadata(Invoice), 'nope', '--from-column'),
      ).rejects.toThrow(/The table "invoice" has no column "nope" \(--from-column\)$/)
    } finally {
      await dataSource.destroy()
    }
  }, 60_000)
})
