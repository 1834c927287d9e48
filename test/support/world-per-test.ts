/**
 * The vitest set-up the TypeORM suites share: in the current describe block, one database
 * server and one storage server for all its tests, a fresh world for each test, and the
 * checks of the "loses no data" rule of docs/architecture.md.
 */
import { afterAll, afterEach, beforeAll, beforeEach, expect } from 'vitest'
import type { Repository } from 'typeorm'
import { keyDifference } from '@attrstore/testing/world'
import { File } from './entities.js'
import {
  createWorld,
  referencedKeys,
  startDatabase,
  startStorageServer,
  storedKeys,
  type Database,
  type DatabaseKind,
  type NamedStorageServer,
  type StorageKind,
  type StorageServer,
  type World,
} from './environment.js'

/** What a test of the block reaches: its world (fresh for each test) and the block's servers. */
export interface WorldContext {
  readonly kind: DatabaseKind
  readonly storageKind: StorageKind
  readonly world: World
  /** The database server of this describe block, for tests that need their own DataSource. */
  readonly database: Database
  files(): Repository<File>
  /** Saves a new File. */
  newFile(name: string, data: unknown, extra?: Partial<File>): Promise<File>
  /** The storages hold exactly what the rows reference. */
  expectConsistent(): Promise<void>
  /** Objects in `main` no row references. */
  orphans(): Promise<string[]>
  /** Keys referenced by rows whose object is missing in `main`. */
  missing(): Promise<string[]>
}

/**
 * Registers the hooks in the current describe block. The storages come from `named` when
 * given (started and stopped by the test file), else from `startStorageServer(storageKind)`
 * (S3 in auto mode).
 */
export function useWorldPerTest(
  kind: DatabaseKind,
  storageKind: StorageKind,
  named?: NamedStorageServer,
): WorldContext {
  let database: Database
  let storages: StorageServer
  let world: World
  beforeAll(async () => {
    ;[database, storages] = await Promise.all([
      startDatabase(kind),
      named?.server ?? startStorageServer(storageKind),
    ])
  })
  afterAll(async () => {
    await Promise.all([database?.stop(), named ? undefined : storages?.stop()])
  })
  beforeEach(async () => {
    world = await createWorld(database, storages)
  })
  afterEach(async () => {
    await world?.destroy()
  })
  const files = () => world.dataSource.getRepository(File)
  return {
    kind,
    storageKind,
    get world() {
      return world
    },
    get database() {
      return database
    },
    files,
    newFile: (name, data, extra = {}) => files().save(files().create({ name, data, ...extra })),
    async expectConsistent() {
      for (const storage of [world.main, world.second]) {
        const referenced = await referencedKeys(world.dataSource, storage)
        expect(await storedKeys(storage)).toEqual(referenced)
      }
    },
    orphans: async () => (await keyDifference(world.dataSource, world.main)).orphaned,
    missing: async () => (await keyDifference(world.dataSource, world.main)).missing,
  }
}
