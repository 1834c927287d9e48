/**
 * Shared set-up of the review tests (test/typeorm/review*.test.ts): one database server and
 * one filesystem storage factory per database kind, a fresh world per test, and helpers to
 * check the "loses no data" rule of docs/architecture.md and to make bodies that are slow or that fail.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect } from 'vitest'
import type { Repository } from 'typeorm'
import type { WriteOptions } from '@attrstore/core'
import type { InstrumentedStorage } from '@attrstore/testing'
import { File } from './entities.js'
import {
  createWorld,
  referencedKeys,
  startDatabase,
  storageFactory,
  storedKeys,
  type Database,
  type DatabaseKind,
  type StorageFactory,
  type StorageKind,
  type World,
} from './environment.js'

export { text } from './environment.js'

export const sleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms))

/** A streamed body that yields some bytes, then fails. */
export function failingBody(afterMs = 0): AsyncIterable<Uint8Array> {
  return (async function* () {
    yield Buffer.from('partial content ')
    if (afterMs) await sleep(afterMs)
    throw new Error('body failed on purpose')
  })()
}

/** A promise and the function that resolves it. */
export function gate(): { opened: Promise<void>; open(): void } {
  let open!: () => void
  const opened = new Promise<void>((resolve) => (open = resolve))
  return { opened, open }
}

/**
 * Makes the storage's writes for entities matching `which` wait for `until` before they
 * start: to order an upload after something else happened.
 */
export function delayWrites(
  storage: InstrumentedStorage,
  which: (entity: unknown) => boolean,
  until: Promise<unknown>,
): void {
  const write = storage.write.bind(storage)
  storage.write = async (body, options?: WriteOptions) => {
    if (which(options?.context?.entity)) await until
    return write(body, options)
  }
}

export interface ReviewContext {
  readonly kind: DatabaseKind
  readonly world: World
  /** The database server of this describe block, for tests that need their own DataSource. */
  readonly database: Database
  files(): Repository<File>
  /** The storages hold exactly what the rows reference. */
  expectConsistent(): Promise<void>
  /** Objects in `main` no row references. */
  orphans(): Promise<string[]>
  /** Keys referenced by rows whose object is missing. */
  missing(): Promise<string[]>
}

/** Runs `body` once per database kind (SQLite, PostgreSQL), each test in a fresh world with storages of one kind (fs by default). */
export function describeReview(
  title: string,
  body: (context: ReviewContext) => void,
  kinds: DatabaseKind[] = ['sqlite', 'postgres'],
  storageKind: StorageKind = 'fs',
): void {
  for (const kind of kinds) {
    describe(`${title} (${kind}, ${storageKind})`, () => {
      let database: Database
      let storages: StorageFactory
      let world: World
      beforeAll(async () => {
        ;[database, storages] = await Promise.all([
          startDatabase(kind),
          storageFactory(storageKind),
        ])
      })
      afterAll(async () => {
        await Promise.all([database?.stop(), storages?.stop()])
      })
      beforeEach(async () => {
        world = await createWorld(database, storages)
      })
      afterEach(async () => {
        await world?.destroy()
      })
      const context: ReviewContext = {
        kind,
        get world() {
          return world
        },
        get database() {
          return database
        },
        files: () => world.dataSource.getRepository(File),
        async expectConsistent() {
          for (const storage of [world.main, world.second]) {
            const referenced = await referencedKeys(world.dataSource, storage)
            expect(await storedKeys(storage)).toEqual(referenced)
          }
        },
        async orphans() {
          const referenced = await referencedKeys(world.dataSource, world.main)
          return (await storedKeys(world.main)).filter((key) => !referenced.includes(key))
        },
        async missing() {
          const stored = await storedKeys(world.main)
          return (await referencedKeys(world.dataSource, world.main)).filter(
            (key) => !stored.includes(key),
          )
        },
      }
      body(context)
    })
  }
}
