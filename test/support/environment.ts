import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { randomUUID } from 'node:crypto'
import { DataSource } from 'typeorm'
import type { AttributeStorage } from '@attrstore/core'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { S3Storage } from '@attrstore/s3'
import {
  InstrumentedStorage,
  S3EngineUnavailableError,
  startPostgres,
  startS3,
  type S3Engine,
  type TestPostgres,
  type TestS3,
} from '@attrstore/testing'
import { setStorage, storageBindings } from '@attrstore/typeorm'
import { Document, ENTITIES, File, KeyOnlyFile, LazyFile, Message } from './entities.js'

export type DatabaseKind = 'sqlite' | 'postgres'
export type StorageKind = 'fs' | 's3'

/** Makes fresh, isolated storages of one kind (a new root or prefix each time). */
export interface StorageFactory {
  create(): Promise<AttributeStorage>
  stop(): Promise<void>
}

async function filesystemStorages(): Promise<StorageFactory> {
  const base = await mkdtemp(path.join(tmpdir(), 'attrstore-it-fs-'))
  return {
    create: async () =>
      new BytesFileSystemStorage({ root: path.join(base, randomUUID()), fsync: false }),
    stop: () => rm(base, { recursive: true, force: true }),
  }
}

async function s3Storages(engine: S3Engine | undefined): Promise<StorageFactory> {
  return storagesOn(await startS3(engine === undefined ? {} : { engine }))
}

/** Fresh S3 storages (a new prefix each) on a running server; `stop()` stops the server. */
function storagesOn(server: TestS3): StorageFactory {
  return {
    create: async () =>
      new S3Storage({
        bucket: server.bucket,
        prefix: `it-${randomUUID()}`,
        endpoint: server.endpoint,
        region: server.region,
        credentials: server.credentials,
      }),
    stop: () => server.stop(),
  }
}

/**
 * Storages of one kind. For S3, `startS3()` of @attrstore/testing: the engine given, else
 * auto mode (`S3_TEST_ENGINE`, MinIO when its container runs, else fauxqs).
 */
export function storageFactory(
  kind: StorageKind,
  options: { engine?: S3Engine } = {},
): Promise<StorageFactory> {
  return kind === 'fs' ? filesystemStorages() : s3Storages(options.engine)
}

/** S3 storages on a named engine, started at collection time, or why it cannot run here. */
export type NamedS3Storages =
  | { engine: S3Engine; factory: StorageFactory; skip?: undefined }
  | { engine: S3Engine; factory?: undefined; skip: string }

/**
 * Starts an S3 server on `engine` (at a test file's top level, so that its describe blocks
 * can be skipped by name). When the engine cannot run here, prints `[skip] <reason>` and
 * resolves to the reason; it never substitutes another engine. The caller stops the server.
 */
export async function startS3OrSkip(
  engine: S3Engine,
): Promise<{ s3: TestS3; skip?: undefined } | { s3?: undefined; skip: string }> {
  try {
    return { s3: await startS3({ engine }) }
  } catch (error) {
    if (!(error instanceof S3EngineUnavailableError)) throw error
    console.warn(`[skip] ${error.message}`)
    return { skip: error.message }
  }
}

/** {@link startS3OrSkip}, as storages (a new prefix each); the caller stops the factory. */
export async function s3StoragesOrSkip(engine: S3Engine): Promise<NamedS3Storages> {
  const started = await startS3OrSkip(engine)
  return started.s3 ? { engine, factory: storagesOn(started.s3) } : { engine, skip: started.skip }
}

/** A database server (or file directory) for one test file. */
export interface Database {
  kind: DatabaseKind
  dataSource(): Promise<DataSource>
  stop(): Promise<void>
}

export async function startDatabase(kind: DatabaseKind): Promise<Database> {
  if (kind === 'postgres') {
    const server: TestPostgres = await startPostgres()
    let count = 0
    return {
      kind,
      async dataSource() {
        const url = await server.createDatabase(`it_${++count}`)
        return new DataSource({ type: 'postgres', url, entities: ENTITIES, synchronize: true })
      },
      stop: () => server.stop(),
    }
  }
  const directory = await mkdtemp(path.join(tmpdir(), 'attrstore-it-sqlite-'))
  let count = 0
  return {
    kind,
    async dataSource() {
      return new DataSource({
        type: 'better-sqlite3',
        database: path.join(directory, `it-${++count}.sqlite`),
        entities: ENTITIES,
        synchronize: true,
      })
    },
    stop: () => rm(directory, { recursive: true, force: true }),
  }
}

/** One test's world: an initialised DataSource whose stored attributes use fresh, counted storages. */
export interface World {
  dataSource: DataSource
  /** For File, LazyFile, KeyOnlyFile, Message.attachment.content and Document.body. */
  main: InstrumentedStorage
  /** For Document.thumbnail. */
  second: InstrumentedStorage
  destroy(): Promise<void>
}

let worlds = 0

export async function createWorld(database: Database, storages: StorageFactory): Promise<World> {
  const dataSource = await database.dataSource()
  const main = new InstrumentedStorage(await storages.create())
  const second = new InstrumentedStorage(await storages.create())
  // Every other world registers before initialize(), the others after: both must work.
  const register = (): void => {
    setStorage(dataSource, File, 'data', main)
    setStorage(dataSource, LazyFile, 'data', main)
    setStorage(dataSource, KeyOnlyFile, 'data', main)
    setStorage(dataSource, Message, 'attachment.content', main)
    setStorage(dataSource, Document, 'body', main)
    setStorage(dataSource, Document, 'thumbnail', second)
  }
  const early = ++worlds % 2 === 0
  if (early) register()
  await dataSource.initialize()
  if (!early) register()
  return { dataSource, main, second, destroy: () => dataSource.destroy() }
}

/** Every key that rows (soft-deleted ones included) reference in `storage`. */
export async function referencedKeys(
  dataSource: DataSource,
  storage: AttributeStorage,
): Promise<string[]> {
  const keys = new Set<string>()
  for (const binding of storageBindings(dataSource)) {
    if (binding.storage !== storage) continue
    const rows = await dataSource
      .createQueryBuilder(binding.metadata.target, 'row')
      .withDeleted()
      .select(`row.${binding.column.propertyPath}`, 'key')
      .getRawMany<{ key: string | null }>()
    for (const { key } of rows) if (key !== null) keys.add(key)
  }
  return [...keys].sort()
}

/** Every object in a storage. */
export async function storedKeys(storage: AttributeStorage): Promise<string[]> {
  const keys: string[] = []
  for await (const entry of storage.list()) keys.push(entry.key)
  return keys.sort()
}

/** The UTF-8 text of a loaded eager attribute, failing clearly when it is not a Buffer. */
export function text(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('utf8')
  throw new Error(
    `expected a Buffer, got ${value === null ? 'null' : typeof value}: ${String(value)}`,
  )
}
