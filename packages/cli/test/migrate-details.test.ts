import 'reflect-metadata'
import { Readable } from 'node:stream'
import type { AttributeStorage } from '@attrstore/core'
import { storageBindings } from '@attrstore/typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { migrate, type MigrationProblem } from '../src/index.js'
import {
  collect,
  contentOf,
  createWorld,
  DATA_SOURCE,
  documentRows,
  runCli,
  seedLegacyRows,
  startCli,
  startDatabaseServer,
  startStorageServer,
  storedKeys,
  waitFor,
  wrongRows,
  type DatabaseServer,
  type StorageServer,
  type World,
  migrateLegacyBodyArgs,
} from './support.js'

const ROWS = 3_000
const BATCH = 100
const MIGRATE = migrateLegacyBodyArgs(BATCH)

describe('migrate: Ctrl-C, --dry-run, concurrent writes, copies that do not verify (SQLite, filesystem storage)', () => {
  let database: DatabaseServer
  let storages: StorageServer
  const worlds: World[] = []
  beforeAll(async () => {
    database = await startDatabaseServer('sqlite')
    storages = await startStorageServer('fs')
  })
  afterAll(async () => {
    for (const world of worlds) await world.destroy()
    await storages?.stop()
    await database?.stop()
  })

  async function seeded(): Promise<World> {
    const world = await createWorld(database, storages)
    worlds.push(world)
    await seedLegacyRows(world, ROWS)
    return world
  }

  const migratedCount = async (world: World): Promise<number> => {
    const [row] = await world.dataSource.query<Array<{ n: unknown }>>(
      'SELECT COUNT(body) AS n FROM document',
    )
    return Number(row!.n)
  }

  it('--dry-run counts rows and bytes and changes nothing', async () => {
    const world = await seeded()
    const result = await runCli(world, [
      ...MIGRATE,
      '--dry-run',
      '--delete-source',
      '--no-progress',
    ])
    expect(result.code).toBe(0)
    let bytes = 0
    for (let n = 0; n < ROWS; n++) bytes += contentOf(n).length
    expect(result.stdout).toContain('[dry run] migrate Document.body: column legacy_body -> file:')
    expect(result.stdout).toMatch(
      new RegExp(`would copy\\s+3,000 rows, ${(bytes / 1024).toFixed(1)} KiB`),
    )
    expect(result.stdout).toMatch(/source to delete\s+3,000/)
    expect(await migratedCount(world)).toBe(0)
    expect(await storedKeys(world.main)).toEqual([])
  })

  it('Ctrl-C finishes and commits the current batch, exits 130, and prints a resume command that completes the job', async () => {
    const world = await seeded()
    const child = startCli(world, [...MIGRATE, '--progress-interval', '0'])
    const outcome = collect(child)
    await waitFor(
      async () => (await migratedCount(world)) >= ROWS / 3,
      'a third of the rows migrated',
    )
    child.kill('SIGINT')
    const interrupted = await outcome
    expect(interrupted.code).toBe(130)
    expect(interrupted.stderr).toContain('Stopping after the current batch')
    expect(interrupted.stderr).toContain('the batch in progress was finished first')
    // Non-terminal progress: plain lines, no carriage returns.
    expect(interrupted.stderr).toMatch(
      /migrate Document\.body: [\d,]+\/3,000 rows \([\d.]+%\), [\d,]+ rows\/s/,
    )
    expect(interrupted.stderr).not.toContain('\r')
    const committed = await migratedCount(world)
    expect(committed % BATCH).toBe(0)
    expect(committed).toBeLessThan(ROWS)
    // A clean stop leaves no orphan: the batch in progress was committed, not abandoned.
    expect(await storedKeys(world.main)).toHaveLength(committed)
    const resume = /to skip even reading them:\n\s+(attrstore [^\n]*)/.exec(interrupted.stderr)?.[1]
    expect(resume).toContain(`--after ${committed}`)
    expect(resume).toContain(`-d ${DATA_SOURCE}`)

    const resumed = await runCli(world, [
      ...resume!
        .split(' ')
        .slice(1)
        .filter((arg) => arg !== '-d' && arg !== DATA_SOURCE),
      '--no-progress',
    ])
    expect(resumed.code).toBe(0)
    expect(resumed.stdout).toMatch(
      new RegExp(`copied\\s+${(ROWS - committed).toLocaleString('en-US')} rows`),
    )
    const rows = await documentRows(world.dataSource)
    expect(
      await wrongRows(world.main, rows, (row) => contentOf(Number(row.name.slice(4)))),
    ).toEqual([])
    expect(await storedKeys(world.main)).toEqual(rows.map((row) => row.body).sort())
  })

  it('Ctrl-C twice abandons the batch in progress: nothing of it is committed or left behind', async () => {
    const world = await seeded()
    // Each copy waits 10 ms: the batch of 1,000 is still being copied when both signals
    // arrive, however quickly this process notices the first 200 copies.
    const child = startCli(world, [...MIGRATE, '--no-progress', '--batch-size', '1000'], {
      ATTRSTORE_TEST_WRITE_DELAY_MS: '10',
    })
    const outcome = collect(child)
    await waitFor(async () => (await storedKeys(world.main)).length >= 200, 'copies being made')
    child.kill('SIGINT')
    await new Promise((resolve) => setTimeout(resolve, 20))
    child.kill('SIGINT')
    const interrupted = await outcome
    expect(interrupted.code).toBe(130)
    expect(interrupted.stderr).toContain(
      'the batch in progress was abandoned (nothing of it committed',
    )
    const committed = await migratedCount(world)
    expect(committed % 1000).toBe(0)
    expect(await storedKeys(world.main)).toHaveLength(committed)
  })

  it('leaves rows the application changed between read and update alone, and deletes their copies', async () => {
    const world = await createWorld(database, storages)
    worlds.push(world)
    await seedLegacyRows(world, 50)
    let writes = 0
    const bindings = storageBindings(world.dataSource).map((binding) => {
      const storage = binding.storage
      const write: AttributeStorage['write'] = async (...args) => {
        const result = await storage.write(...args)
        // While the batch is being copied, the application gives doc-3 a key of its own.
        if (++writes === 10)
          await world.dataSource.query(
            `UPDATE document SET body = 'set-by-the-app' WHERE name = 'doc-3'`,
          )
        return result
      }
      return {
        ...binding,
        storage: Object.assign(Object.create(storage) as AttributeStorage, { write }),
      }
    })
    const report = await migrate(world.dataSource, {
      bindings,
      entity: 'Document',
      attribute: 'body',
      from: { column: 'legacy_body' },
    })
    expect(report).toMatchObject({
      complete: true,
      copied: 49,
      changedConcurrently: 1,
      problemCount: 0,
    })
    const rows = await documentRows(world.dataSource)
    const doc3 = rows.find((row) => row.name === 'doc-3')!
    expect(doc3.body).toBe('set-by-the-app')
    expect(doc3.legacy).toEqual(contentOf(3))
    const others = rows.filter((row) => row !== doc3)
    // Keys were made with the attribute's fileName option, from each row rebuilt as an entity.
    expect(others.every((row) => row.body!.endsWith('.txt'))).toBe(true)
    expect(await storedKeys(world.main)).toEqual(others.map((row) => row.body).sort())
    expect(
      await wrongRows(world.main, others, (row) => contentOf(Number(row.name.slice(4)))),
    ).toEqual([])
  })

  it('never writes a key whose copy does not read back as the source (a server that mangles bodies)', async () => {
    const world = await createWorld(database, storages)
    worlds.push(world)
    await seedLegacyRows(world, 20)
    let writes = 0
    let mangled: string | undefined
    const bindings = storageBindings(world.dataSource).map((binding) => {
      const storage = binding.storage
      const write: AttributeStorage['write'] = async (...args) => {
        const result = await storage.write(...args)
        if (++writes === 7) mangled = result.key
        return result
      }
      // The 7th copy reads back with extra bytes, as a server that stores aws-chunked framing would.
      const readStream: AttributeStorage['readStream'] = async (key, options) =>
        key === mangled
          ? Readable.from([Buffer.from('5;chunk-signature=0\r\n'), await storage.read(key)])
          : storage.readStream(key, options)
      return {
        ...binding,
        storage: Object.assign(Object.create(storage) as AttributeStorage, { write, readStream }),
      }
    })
    const problems: MigrationProblem[] = []
    const report = await migrate(world.dataSource, {
      bindings,
      entity: 'Document',
      attribute: 'body',
      from: { column: 'legacy_body' },
      deleteSource: true,
      onProblem: (problem) => problems.push(problem),
    })
    expect(report).toMatchObject({ complete: true, copied: 19, problemCount: 1 })
    expect(problems).toEqual([
      expect.objectContaining({
        kind: 'corrupt',
        detail: expect.stringContaining(`the copy ${mangled} did not verify`),
      }),
    ])
    const rows = await documentRows(world.dataSource)
    const bad = rows.find((row) => row.id === Number(problems[0]!.id))!
    // Its row keeps its bytes and gets no key; the bad copy is gone.
    expect(bad.body).toBeNull()
    expect(bad.legacy).not.toBeNull()
    expect(await world.main.exists(mangled!)).toBe(false)
    expect(await storedKeys(world.main)).toHaveLength(19)
  })
})
