import { spawn, type ChildProcess } from 'node:child_process'
import { randomUUID } from 'node:crypto'
import { constants } from 'node:fs'
import { access, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { runBounded, type AttributeStorage } from '@attrstore/core'
import { setStorage } from '@attrstore/typeorm'
import { DataSource } from 'typeorm'
import type { S3Engine } from '@attrstore/testing'
import { afterAll, beforeAll } from 'vitest'
import { Attachment, Document, ENTITIES } from './fixtures/entities.js'
import { openStorage, type StorageSpec } from './fixtures/storages.js'

export type DatabaseKind = 'sqlite' | 'postgres'
export type StorageKind = 'fs' | 's3'

const here = path.dirname(fileURLToPath(import.meta.url))
export const FIXTURES = path.join(here, 'fixtures')
export const DATA_SOURCE = path.join(FIXTURES, 'data-source.ts')
const LAUNCHER = path.join(FIXTURES, 'launch.mjs')
const BIN = path.join(here, '..', 'src', 'bin.ts')

/**
 * Where tests keep files: a tmpfs (/dev/shm) when there is one. On the CI machines'
 * disks, creating a file costs about 1 ms (10x tmpfs), which is most of a 10,000-row
 * migration's time; the storage code is the same either way.
 */
export async function scratch(prefix: string): Promise<string> {
  const shm = '/dev/shm'
  try {
    await access(shm, constants.W_OK)
    return await mkdtemp(path.join(shm, prefix))
  } catch {
    return mkdtemp(path.join(tmpdir(), prefix))
  }
}

/** A database server (PostgreSQL) or directory (SQLite) for one test file; one database per world. */
export interface DatabaseServer {
  kind: DatabaseKind
  newDatabase(): Promise<string>
  stop(): Promise<void>
}

export async function startDatabaseServer(kind: DatabaseKind): Promise<DatabaseServer> {
  let count = 0
  if (kind === 'postgres') {
    const { startPostgres } = await import('@attrstore/testing')
    const server = await startPostgres()
    return {
      kind,
      newDatabase: () => server.createDatabase(`cli_${++count}`),
      stop: () => server.stop(),
    }
  }
  const directory = await scratch('attrstore-cli-sqlite-')
  return {
    kind,
    newDatabase: async () => path.join(directory, `db-${++count}.sqlite`),
    stop: () => rm(directory, { recursive: true, force: true }),
  }
}

/** Makes fresh storage specs of one kind (a new root or prefix each time). */
export interface StorageServer {
  kind: StorageKind
  newSpec(): StorageSpec
  stop(): Promise<void>
}

/**
 * Starts what a storage kind needs. For S3: `startS3()` of @attrstore/testing, on `engine`
 * when given, else auto mode (fauxqs in process unless S3_TEST_ENGINE says otherwise).
 * Resolves to a reason string when it cannot run here, for the test to skip loudly: in
 * auto mode whatever failed, on a named engine only its S3EngineUnavailableError.
 */
export async function startStorageServer(
  kind: StorageKind,
  options: { engine?: S3Engine } = {},
): Promise<StorageServer | string> {
  if (kind === 'fs') {
    const base = await scratch('attrstore-cli-fs-')
    return {
      kind,
      newSpec: () => ({ kind: 'fs', root: path.join(base, randomUUID()) }),
      stop: () => rm(base, { recursive: true, force: true }),
    }
  }
  // Loaded on demand, as for PostgreSQL: a filesystem-only file does not load the AWS SDK.
  const { S3EngineUnavailableError, startS3 } = await import('@attrstore/testing')
  let server
  try {
    server = await startS3(options.engine === undefined ? {} : { engine: options.engine })
  } catch (error) {
    if (options.engine !== undefined && !(error instanceof S3EngineUnavailableError)) throw error
    return `S3 is unavailable here: ${(error as Error).message}`
  }
  const { endpoint, region, credentials, bucket } = server
  return {
    kind,
    newSpec: () => ({
      kind: 's3',
      bucket,
      prefix: `cli-${randomUUID()}`,
      endpoint,
      region,
      credentials,
    }),
    stop: () => server.stop(),
  }
}

/** An S3 server on a named engine, started at collection time, or why it cannot run here. */
export type NamedStorageServer =
  | { engine: S3Engine; server: StorageServer; skip?: undefined }
  | { engine: S3Engine; server?: undefined; skip: string }

/**
 * Starts an S3 server on `engine` at a test file's top level, so that its describe blocks
 * can be skipped by name; prints `[skip] <reason>` when it cannot run here (never another
 * engine in its place). The caller stops the server.
 */
export async function s3ServerOrSkip(engine: S3Engine): Promise<NamedStorageServer> {
  const server = await startStorageServer('s3', { engine })
  if (typeof server === 'object') return { engine, server }
  console.warn(`[skip] ${server}`)
  return { engine, skip: server }
}

/** The title of a scenario block, naming the engine and, when skipped, why. */
export function scenarioTitle(title: string, named?: NamedStorageServer): string {
  if (!named) return title
  return `${title} on ${named.engine}${named.skip === undefined ? '' : ` (skipped: ${named.skip})`}`
}

/** One test's database and storages, as the test process and the CLI child processes see them. */
export interface World {
  kind: DatabaseKind
  dataSource: DataSource
  main: AttributeStorage
  specs: Record<string, StorageSpec>
  /** Environment for child processes loading fixtures/data-source.ts. */
  env: Record<string, string>
  storage(name: string): Promise<AttributeStorage>
  destroy(): Promise<void>
}

export async function createWorld(
  database: DatabaseServer,
  storages: StorageServer,
  extra: string[] = [],
): Promise<World> {
  const location = await database.newDatabase()
  const specs: Record<string, StorageSpec> = { main: storages.newSpec() }
  for (const name of extra) specs[name] = storages.newSpec()
  const main = await openStorage(specs.main!)
  const dataSource = new DataSource(
    database.kind === 'postgres'
      ? { type: 'postgres', url: location, entities: ENTITIES, synchronize: true }
      : { type: 'better-sqlite3', database: location, entities: ENTITIES, synchronize: true },
  )
  setStorage(dataSource, Document, 'body', main)
  setStorage(dataSource, Attachment, 'content', main)
  await dataSource.initialize()
  // The column that held the bytes before the application adopted attrstore.
  await dataSource.query(
    `ALTER TABLE document ADD COLUMN legacy_body ${database.kind === 'postgres' ? 'bytea' : 'blob'}`,
  )
  const opened = new Map<string, AttributeStorage>([['main', main]])
  return {
    kind: database.kind,
    dataSource,
    main,
    specs,
    env: {
      ATTRSTORE_TEST_DB_KIND: database.kind,
      ATTRSTORE_TEST_DB: location,
      ATTRSTORE_TEST_STORAGES: JSON.stringify(specs),
    },
    async storage(name) {
      let storage = opened.get(name)
      if (!storage) opened.set(name, (storage = await openStorage(specs[name]!)))
      return storage
    },
    destroy: async () => {
      if (dataSource.isInitialized) await dataSource.destroy()
    },
  }
}

/**
 * Registers, in the current describe block, one database server and one storage server for
 * all its tests (or uses `named`, which its starter stops), and returns how to make a world
 * per test (destroyed after the block).
 * `unavailable()` says why the storage server could not start (tests then skip), else
 * undefined.
 */
export function useWorlds(
  databaseKind: DatabaseKind,
  storageKind: StorageKind,
  named?: NamedStorageServer,
): { world(extra?: string[]): Promise<World>; unavailable(): string | undefined } {
  let database: DatabaseServer | undefined
  let storages: StorageServer | string | undefined = named?.server ?? named?.skip
  const worlds: World[] = []
  beforeAll(async () => {
    database = await startDatabaseServer(databaseKind)
    if (named) return
    storages = await startStorageServer(storageKind)
    if (typeof storages === 'string')
      console.warn(`SKIPPED (${databaseKind}/${storageKind}): ${storages}`)
  })
  afterAll(async () => {
    for (const world of worlds) await world.destroy()
    if (typeof storages === 'object' && !named) await storages.stop()
    await database?.stop()
  })
  return {
    async world(extra = []) {
      const created = await createWorld(database!, storages as StorageServer, extra)
      worlds.push(created)
      return created
    },
    unavailable: () => (typeof storages === 'string' ? storages : undefined),
  }
}

/** The deterministic content of document number `n`: sizes vary from 20 to about 600 bytes. */
export function contentOf(n: number): Buffer {
  return Buffer.from(`document ${n}: ${'abcdefghij'.repeat(n % 59)}`)
}

/** Inserts `count` documents with their bytes in `legacy_body` and no key (names `doc-<n>`). */
export async function seedLegacyRows(world: World, count: number): Promise<void> {
  const { dataSource } = world
  const perStatement = 400
  for (let start = 0; start < count; start += perStatement) {
    const parameters: Record<string, unknown> = {}
    const values: string[] = []
    for (let n = start; n < Math.min(count, start + perStatement); n++) {
      parameters[`n${n}`] = `doc-${n}`
      parameters[`b${n}`] = contentOf(n)
      values.push(`(:n${n}, :b${n})`)
    }
    const [sql, native] = dataSource.driver.escapeQueryWithParameters(
      `INSERT INTO document (name, legacy_body) VALUES ${values.join(', ')}`,
      parameters,
    )
    await dataSource.query(sql, native)
  }
}

export interface DocumentRow {
  id: number
  name: string
  body: string | null
  legacy: Buffer | null
}

export async function documentRows(dataSource: DataSource): Promise<DocumentRow[]> {
  const rows = await dataSource.query<Array<Record<string, unknown>>>(
    'SELECT id, name, body, legacy_body FROM document ORDER BY id',
  )
  return rows.map((row) => ({
    id: Number(row.id),
    name: row.name as string,
    body: (row.body as string | null) ?? null,
    legacy: (row.legacy_body as Buffer | null) ?? null,
  }))
}

/** Every key in a storage, sorted. */
export async function storedKeys(storage: AttributeStorage): Promise<string[]> {
  const keys: string[] = []
  for await (const { key } of storage.list()) keys.push(key)
  return keys.sort()
}

/** Asserts-by-returning: rows whose object is missing or differs from `expected(row)`. */
export async function wrongRows(
  storage: AttributeStorage,
  rows: DocumentRow[],
  expected: (row: DocumentRow) => Buffer,
): Promise<string[]> {
  const wrong: string[] = []
  await runBounded(rows, 16, async (row) => {
    if (row.body === null) return void wrong.push(`${row.name}: no key`)
    const content = await storage
      .read(row.body)
      .catch((error: Error) => Buffer.from(`<${error.message}>`))
    if (!content.equals(expected(row)))
      wrong.push(
        `${row.name}: ${row.body} holds ${JSON.stringify(content.toString().slice(0, 40))}`,
      )
  })
  return wrong
}

export interface CliResult {
  code: number | null
  signal: NodeJS.Signals | null
  stdout: string
  stderr: string
}

/** Starts a TypeScript entry point of this package (the CLI, a fixture) in a child process. */
export function spawnScript(
  script: string,
  args: string[],
  env: Record<string, string>,
): ChildProcess {
  return spawn(process.execPath, ['--conditions=@attrstore/source', LAUNCHER, script, ...args], {
    cwd: path.join(here, '..'),
    env: { ...process.env, ...env, NO_COLOR: '1' },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
}

export function collect(child: ChildProcess): Promise<CliResult> {
  let stdout = ''
  let stderr = ''
  child.stdout?.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk))
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk))
  return new Promise((resolve, reject) => {
    child.on('error', reject)
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }))
  })
}

/** Runs `attrstore <args> -d fixtures/data-source.ts` against a world, in a child process. */
export function runCli(world: World, args: string[]): Promise<CliResult> {
  return collect(spawnScript(BIN, [...args, '-d', DATA_SOURCE], world.env))
}

export function startCli(world: World, args: string[]): ChildProcess {
  return spawnScript(BIN, [...args, '-d', DATA_SOURCE], world.env)
}

/** Waits until `condition` holds, polling. */
export async function waitFor(
  condition: () => Promise<boolean>,
  what: string,
  timeoutMs = 60_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`Timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** The `attrstore migrate` arguments that copy Document.legacy_body into the body attribute's storage. */
export function migrateLegacyBodyArgs(batchSize: number): string[] {
  return [
    'migrate',
    '-e',
    'Document',
    '-a',
    'body',
    '--from-column',
    'legacy_body',
    '--batch-size',
    String(batchSize),
  ]
}
