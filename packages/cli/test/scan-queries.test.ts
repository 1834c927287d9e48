import 'reflect-metadata'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DataSource, Entity, PrimaryGeneratedColumn, type Logger } from 'typeorm'
import { MemoryStorage } from '@attrstore/core'
import { setStorage, StoredAttribute } from '@attrstore/typeorm'
import { startPostgres, type TestPostgres } from '@attrstore/testing'
import { collectGarbage, verify, type ProgressUpdate } from '@attrstore/cli'

@Entity({ name: 'scanned' })
class Scanned {
  @PrimaryGeneratedColumn({ type: 'integer' }) id!: number
  @StoredAttribute({ load: 'none' }) body!: string | null
}

/** Every statement the DataSource sends, as sent. */
class StatementLog implements Logger {
  readonly statements: string[] = []
  logQuery(query: string): void {
    this.statements.push(query)
  }
  logQueryError(): void {}
  logQuerySlow(): void {}
  logSchemaBuild(): void {}
  logMigration(): void {}
  log(): void {}
  take(): string[] {
    return this.statements.splice(0)
  }
}

const ROWS = 2500
const ORPHANS = 30

describe('what gc and verify ask PostgreSQL', () => {
  let postgres: TestPostgres | undefined
  let unavailable: string | undefined
  let dataSource: DataSource | undefined
  const log = new StatementLog()
  const storage = new MemoryStorage()

  beforeAll(async () => {
    postgres = await startPostgres().catch((error: Error) => {
      unavailable = `PostgreSQL is unavailable here: ${error.message}`
      console.warn(`SKIPPED (gc and verify statements): ${unavailable}`)
      return undefined
    })
    if (!postgres) return
    dataSource = new DataSource({
      type: 'postgres',
      url: postgres.url,
      entities: [Scanned],
      synchronize: true,
      logger: log,
    })
    setStorage(dataSource, Scanned, 'body', storage)
    await dataSource.initialize()
    const keys: string[] = []
    for (let i = 0; i < ROWS; i++) keys.push((await storage.write(Buffer.from(`row ${i}`))).key)
    for (let i = 0; i < ORPHANS; i++) await storage.write(Buffer.from(`orphan ${i}`))
    await dataSource.query('INSERT INTO scanned (body) SELECT unnest($1::text[])', [keys])
  }, 120_000)
  afterAll(async () => {
    await dataSource?.destroy()
    await postgres?.stop()
  })

  it('gc asks one = ANY query per batch of listed keys, and counts rows only for a progress display', async (context) => {
    if (!dataSource) return context.skip(unavailable)
    log.take()
    const report = await collectGarbage(dataSource, { graceMs: 0, batchSize: 1000 })
    expect(report.stores[0]).toMatchObject({
      listed: { count: ROWS + ORPHANS },
      referenced: { count: ROWS },
      orphans: { count: ORPHANS },
    })
    const statements = log.take()
    const lookups = statements.filter((sql) => /\bFROM "scanned"/.test(sql))
    // 2,530 listed keys in batches of 1,000: three lookups, each with one array parameter.
    expect(lookups).toHaveLength(Math.ceil((ROWS + ORPHANS) / 1000))
    for (const sql of lookups) expect(sql).toMatch(/"body" = ANY\(\$1\)/)
    expect(statements.filter((sql) => /COUNT\(/i.test(sql))).toEqual([])

    const updates: ProgressUpdate[] = []
    await collectGarbage(dataSource, { graceMs: 0, onProgress: (update) => updates.push(update) })
    expect(log.take().filter((sql) => /COUNT\(DISTINCT/i.test(sql))).toHaveLength(1)
    expect(updates[0]).toMatchObject({ done: 0, total: ROWS })
  })

  it('verify counts rows only for a progress display', async (context) => {
    if (!dataSource) return context.skip(unavailable)
    log.take()
    const report = await verify(dataSource, { batchSize: 1000 })
    expect(report).toMatchObject({ problemCount: 0, attributes: [{ rows: ROWS, missing: 0 }] })
    expect(log.take().filter((sql) => /COUNT\(/i.test(sql))).toEqual([])

    const updates: ProgressUpdate[] = []
    const shown = await verify(dataSource, { onProgress: (update) => updates.push(update) })
    expect(shown.attributes[0]?.rows).toBe(ROWS)
    expect(log.take().filter((sql) => /COUNT\(\*\)/i.test(sql))).toHaveLength(1)
    expect(updates[0]).toMatchObject({ done: 0, total: ROWS })
  })
})
