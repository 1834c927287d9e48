/**
 * The worlds of the cross-package TypeORM tests, on @attrstore/testing/world: the entities of
 * ./entities.ts, their stored attributes in two counted storages (`main`, `second`).
 */
import type { DataSource } from 'typeorm'
import { InstrumentedStorage } from '@attrstore/testing'
import {
  createWorld as createTypeormWorld,
  startDatabaseServer,
  type DatabaseKind,
  type DatabaseServer,
  type StorageServer,
} from '@attrstore/testing/world'
import { Document, ENTITIES, File, KeyOnlyFile, LazyFile, Message } from './entities.js'

export { startS3OrSkip } from '@attrstore/testing'
export {
  referencedKeys,
  startStorageServer,
  startStorageServerOrSkip,
  storedKeys,
  type DatabaseKind,
  type NamedStorageServer,
  type StorageKind,
  type StorageServer,
} from '@attrstore/testing/world'

/** A database server for one test file, making DataSources with the entities of ./entities.ts. */
export interface Database extends DatabaseServer {
  /** A DataSource, not initialised, on a new, empty database. */
  dataSource(): Promise<DataSource>
}

export async function startDatabase(kind: DatabaseKind): Promise<Database> {
  const server = await startDatabaseServer(kind)
  return { ...server, dataSource: () => server.createDataSource({ entities: ENTITIES }) }
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

export async function createWorld(
  database: DatabaseServer,
  storages: Pick<StorageServer, 'create'>,
): Promise<World> {
  const main = new InstrumentedStorage(await storages.create())
  const second = new InstrumentedStorage(await storages.create())
  const { dataSource, destroy } = await createTypeormWorld(database, {
    entities: ENTITIES,
    storages: { main, second },
    attributes: [
      { entity: File, attribute: 'data', storage: 'main' },
      { entity: LazyFile, attribute: 'data', storage: 'main' },
      { entity: KeyOnlyFile, attribute: 'data', storage: 'main' },
      { entity: Message, attribute: 'attachment.content', storage: 'main' },
      { entity: Document, attribute: 'body', storage: 'main' },
      { entity: Document, attribute: 'thumbnail', storage: 'second' },
    ],
    // Every other world registers before initialize(), the others after: both must work.
    registerBeforeInitialize: ++worlds % 2 === 0,
  })
  return { dataSource, main, second, destroy }
}

/** The UTF-8 text of a loaded eager attribute, failing clearly when it is not a Buffer. */
export function text(value: unknown): string {
  if (Buffer.isBuffer(value)) return value.toString('utf8')
  throw new Error(
    `expected a Buffer, got ${value === null ? 'null' : typeof value}: ${String(value)}`,
  )
}
