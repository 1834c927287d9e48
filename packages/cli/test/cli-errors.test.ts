// The errors a new user hits first, through the real CLI in a child process: each is one line
// on stderr that says what to fix, never a stack trace, with the documented exit status
// (2: usage or configuration), and nothing is changed in the database or the storage.
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { freePort } from '@attrstore/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  collect,
  createWorld,
  DATA_SOURCE,
  documentRows,
  FIXTURES,
  migrateBodyArgs,
  runCli,
  seedLegacyRows,
  spawnScript,
  startDatabaseServer,
  startStorageServer,
  storedKeys,
  useWorlds,
  type CliResult,
  type DatabaseServer,
  type StorageServer,
} from './support.js'

const BIN = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'src', 'bin.ts')
const TIMEOUT = 60_000

function run(args: string[], env: Record<string, string> = {}): Promise<CliResult> {
  return collect(spawnScript(BIN, [...args, '--no-progress'], env))
}

/** Exit status 2 and a single line on stderr matching `pattern`, without a stack trace. */
function expectOneLine(result: CliResult, pattern: RegExp): void {
  expect(result.stderr).not.toMatch(/^\s+at /m)
  expect(result.stderr.trimEnd().split('\n'), result.stderr).toHaveLength(1)
  expect(result.stderr.trimEnd()).toMatch(pattern)
  expect(result.code, result.stderr).toBe(2)
}

describe('the data source module fails to load', () => {
  const fixture = (name: string): string => path.join(FIXTURES, 'errors', name)

  it(
    'a default-exported factory that throws',
    async () => {
      const result = await run(['stat', '-d', fixture('factory-throws.ts')])
      expectOneLine(
        result,
        /^attrstore stat: .*factory-throws\.ts: its default-exported factory failed: DATABASE_URL is not set$/,
      )
    },
    TIMEOUT,
  )

  it(
    'an exported promise that rejects',
    async () => {
      const result = await run(['stat', '-d', fixture('promise-rejects.ts')])
      expectOneLine(
        result,
        /^attrstore stat: .*promise-rejects\.ts: its export "dataSource" \(a promise\) rejected: the vault refused the database password$/,
      )
    },
    TIMEOUT,
  )

  it(
    'a configureStorages hook that throws',
    async () => {
      const result = await run(['stat', '-d', fixture('configure-throws.ts')])
      expectOneLine(
        result,
        /^attrstore stat: .*configure-throws\.ts: its configureStorages\(dataSource\) failed: S3_BUCKET is not set$/,
      )
    },
    TIMEOUT,
  )

  it(
    'a configureStorages hook with a bug (a TypeError): exit 1 and its stack',
    async () => {
      const result = await run(['stat', '-d', fixture('configure-bug.ts')])
      expect(result.code, result.stderr).toBe(1)
      expect(result.stderr).toMatch(
        /^attrstore stat: .*configure-bug\.ts: its configureStorages\(dataSource\) failed:\nTypeError: Cannot read properties of undefined \(reading 'root'\)\n/,
      )
      expect(result.stderr).toMatch(/^\s+at configureStorages .*configure-bug\.ts/m)
    },
    TIMEOUT,
  )

  it(
    'a configureStorages hook that overflows the stack: exit 1 and its stack, not an option error',
    async () => {
      const result = await run(['stat', '-d', fixture('configure-overflows.ts')])
      expect(result.code, result.stderr).toBe(1)
      expect(result.stderr).toMatch(
        /^attrstore stat: .*configure-overflows\.ts: its configureStorages\(dataSource\) failed:\nRangeError: Maximum call stack size exceeded\n/,
      )
      expect(result.stderr).toMatch(/^\s+at recurse /m)
    },
    TIMEOUT,
  )

  it(
    'a --tsconfig file that does not exist',
    async () => {
      const result = await run([
        'stat',
        '--tsconfig',
        'no-such-tsconfig.json',
        '-d',
        path.join(FIXTURES, 'loader', 'factory.ts'),
      ])
      expectOneLine(result, /^attrstore stat: tsconfig file not found: .*no-such-tsconfig\.json$/)
    },
    TIMEOUT,
  )

  it(
    'a PostgreSQL server that cannot be reached',
    async () => {
      const port = await freePort()
      const result = await run(['stat', '-d', DATA_SOURCE], {
        ATTRSTORE_TEST_DB_KIND: 'postgres',
        ATTRSTORE_TEST_DB: `postgres://attrstore@127.0.0.1:${port}/attrstore`,
      })
      expectOneLine(
        result,
        new RegExp(
          `^attrstore stat: Cannot initialise the DataSource of .*data-source\\.ts \\(postgres\\): .*127\\.0\\.0\\.1:${port}`,
        ),
      )
    },
    TIMEOUT,
  )
})

describe('a database without the tables', () => {
  let directory: string
  beforeAll(async () => void (directory = await mkdtemp(path.join(tmpdir(), 'attrstore-empty-'))))
  afterAll(() => rm(directory, { recursive: true, force: true }))

  it(
    'stat names the missing table and changes nothing',
    async () => {
      const file = path.join(directory, 'empty.sqlite')
      // An empty file is an empty SQLite database.
      await writeFile(file, '')
      const result = await run(['stat', '-d', DATA_SOURCE], {
        ATTRSTORE_TEST_DB_KIND: 'sqlite',
        ATTRSTORE_TEST_DB: file,
        ATTRSTORE_TEST_STORAGES: JSON.stringify({
          main: { kind: 'fs', root: path.join(directory, 'files') },
        }),
      })
      expectOneLine(
        result,
        /^attrstore stat: The table "document" of Document\.body does not exist in the database: run the application's migrations first/,
      )
      // Not a byte written: no table created, not even a header.
      expect((await readFile(file)).length).toBe(0)
    },
    TIMEOUT,
  )
})

describe('command lines that name what does not exist (SQLite)', () => {
  const worlds = useWorlds('sqlite', 'fs')

  it(
    'migrate --from-column of a column the table does not have',
    async () => {
      const world = await worlds.world()
      await seedLegacyRows(world, 5)
      const before = await documentRows(world.dataSource)
      const result = await runCli(world, [...migrateBodyArgs('nope'), '--no-progress'])
      expectOneLine(
        result,
        /^attrstore migrate: The table "document" has no column "nope" \(--from-column\); its columns: id, name, body, deletedAt, legacy_body$/,
      )
      expect(await documentRows(world.dataSource)).toEqual(before)
      expect(await storedKeys(world.main)).toEqual([])
    },
    TIMEOUT,
  )

  it(
    'migrate --from-column that is no plain column name (an option out of range)',
    async () => {
      const world = await worlds.world()
      await seedLegacyRows(world, 5)
      const before = await documentRows(world.dataSource)
      const result = await runCli(world, [
        'migrate',
        '-e',
        'Document',
        '-a',
        'body',
        '--from-column',
        'legacy body',
        '--no-progress',
      ])
      expectOneLine(result, /^attrstore migrate: .*must be a plain column name .*"legacy body"$/)
      expect(await documentRows(world.dataSource)).toEqual(before)
      expect(await storedKeys(world.main)).toEqual([])
    },
    TIMEOUT,
  )

  it(
    'migrate --after with a value that is not a primary key of the table',
    async () => {
      const world = await worlds.world()
      await seedLegacyRows(world, 5)
      const before = await documentRows(world.dataSource)
      const result = await runCli(world, [...migrateBodyArgs(), '--after', 'abc', '--no-progress'])
      expectOneLine(
        result,
        /^attrstore migrate: --after "abc": the primary key id of Document is a number$/,
      )
      expect(await documentRows(world.dataSource)).toEqual(before)
      expect(await storedKeys(world.main)).toEqual([])
    },
    TIMEOUT,
  )

  it(
    'gc --grace longer than any date',
    async () => {
      const world = await worlds.world()
      const result = await runCli(world, ['gc', '--grace', '99999999999d', '--delete'])
      expect(result.stderr).not.toMatch(/^\s+at /m)
      expect(result.stderr.split('\n')[0]).toMatch(
        /^attrstore gc: --grace: .*99999999999d.* is too long: at most 36500d/,
      )
      expect(result.code).toBe(2)
    },
    TIMEOUT,
  )
})

describe('verify with the S3 endpoint down', () => {
  let database: DatabaseServer | undefined
  let storages: StorageServer | undefined
  let unavailable: string | undefined
  beforeAll(async () => {
    database = await startDatabaseServer('sqlite')
    storages = await startStorageServer('s3').catch((error: Error) => {
      unavailable = `S3 is unavailable here: ${error.message}`
      console.warn(`SKIPPED (verify with the S3 endpoint down): ${unavailable}`)
      return undefined
    })
  }, TIMEOUT)
  afterAll(async () => {
    await storages?.stop()
    await database?.stop()
  })

  it(
    'stops at the first check with one line naming the endpoint',
    async (context) => {
      if (!database || !storages) return context.skip(unavailable)
      const world = await createWorld(database, storages)
      try {
        const values = Array.from({ length: 550 }, (_, n) => `('doc-${n}', 'aa/bb/key-${n}')`)
        await world.dataSource.query(
          `INSERT INTO document (name, body) VALUES ${values.join(', ')}`,
        )
        const before = await documentRows(world.dataSource)
        const spec = world.specs.main!
        await storages.stop()
        storages = undefined
        const result = await runCli(world, ['verify', '--no-progress'])
        expectOneLine(result, /^attrstore verify: Cannot reach the S3 endpoint /)
        expect(spec.kind === 's3' && result.stderr.includes(spec.endpoint)).toBe(true)
        expect(await documentRows(world.dataSource)).toEqual(before)
      } finally {
        await world.destroy()
      }
    },
    TIMEOUT * 2,
  )
})
