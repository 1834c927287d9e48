import { spawn, type ChildProcess } from 'node:child_process'
import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { type AttributeStorage } from '@attrstore/core'
import { runBounded } from '@attrstore/core/driver'
import type { DataSource } from 'typeorm'
import {
  createWorld as createTypeormWorld,
  openStorage,
  startDatabaseServer,
  startStorageServer,
  type DatabaseKind,
  type DatabaseServer,
  type NamedStorageServer,
  type StorageKind,
  type StorageServer,
  type StorageSpec,
} from '@attrstore/testing/world'
import { afterAll, beforeAll } from 'vitest'
import { Attachment, Document, ENTITIES } from './fixtures/entities.js'

export {
  startDatabaseServer,
  startStorageServer,
  startStorageServerOrSkip,
  storedKeys,
  type DatabaseKind,
  type DatabaseServer,
  type NamedStorageServer,
  type StorageKind,
  type StorageServer,
} from '@attrstore/testing/world'

const here = path.dirname(fileURLToPath(import.meta.url))
export const FIXTURES = path.join(here, 'fixtures')
export const DATA_SOURCE = path.join(FIXTURES, 'data-source.ts')
const LAUNCHER = path.join(FIXTURES, 'launch.mjs')
const BIN = path.join(here, '..', 'src', 'bin.ts')

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
  const specs: Record<string, StorageSpec> = { main: storages.createSpec() }
  for (const name of extra) specs[name] = storages.createSpec()
  const main = await openStorage(specs.main!)
  const world = await createTypeormWorld(database, {
    entities: ENTITIES,
    storages: { main },
    attributes: [
      { entity: Document, attribute: 'body', storage: 'main' },
      { entity: Attachment, attribute: 'content', storage: 'main' },
    ],
  })
  const { kind, location } = world.database
  // The column that held the bytes before the application adopted attrstore.
  await world.dataSource.query(
    `ALTER TABLE document ADD COLUMN legacy_body ${kind === 'postgres' ? 'bytea' : 'blob'}`,
  )
  const opened = new Map<string, AttributeStorage>([['main', main]])
  return {
    kind,
    dataSource: world.dataSource,
    main,
    specs,
    env: {
      ATTRSTORE_TEST_DB_KIND: kind,
      ATTRSTORE_TEST_DB: location,
      ATTRSTORE_TEST_STORAGES: JSON.stringify(specs),
    },
    async storage(name) {
      let storage = opened.get(name)
      if (!storage) opened.set(name, (storage = await openStorage(specs[name]!)))
      return storage
    },
    destroy: world.destroy,
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
    // In auto mode, whatever keeps S3 from starting skips the block, loudly.
    storages = await startStorageServer(storageKind).catch((error: Error) => {
      if (storageKind !== 's3') throw error
      return `S3 is unavailable here: ${error.message}`
    })
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
      if (!database || typeof storages !== 'object')
        throw new Error(`no world: ${storages ?? 'the servers did not start'}`)
      const created = await createWorld(database, storages, extra)
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

/** Starts `attrstore <args> -d fixtures/data-source.ts` against a world; `env` adds variables (faults to inject). */
export function startCli(
  world: World,
  args: string[],
  env: Record<string, string> = {},
): ChildProcess {
  return spawnScript(BIN, [...args, '-d', DATA_SOURCE], { ...world.env, ...env })
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

/** The `attrstore migrate` arguments that copy the column `fromColumn` of Document into the body attribute's storage. */
export function migrateBodyArgs(fromColumn = 'legacy_body'): string[] {
  return ['migrate', '-e', 'Document', '-a', 'body', '--from-column', fromColumn]
}

/** The `attrstore migrate` arguments that copy Document.legacy_body into the body attribute's storage. */
export function migrateLegacyBodyArgs(batchSize: number): string[] {
  return [...migrateBodyArgs(), '--batch-size', String(batchSize)]
}
