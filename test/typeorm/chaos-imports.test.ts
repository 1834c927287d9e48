/**
 * Chaos run of imports against clean-ups: 50 workers share a PostgreSQL pool of 10 and a
 * few dozen rows whose objects they import into new rows (`existingObject(key)` of another
 * row's key), replace, remove and move, in transactions and outside them, for
 * `ATTRSTORE_CHAOS_SECONDS` seconds (default 20) per storage. Whatever the interleaving,
 * no committed row may end up referencing a missing object.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { DataSource, type DataSourceOptions, type EntityManager } from 'typeorm'
import { existingObject, type AttributeStorage } from '@attrstore/core'
import { setStorage, storageEvents } from '@attrstore/typeorm'
import { KeyOnlyFile } from '../support/entities.js'
import {
  referencedKeys,
  startDatabase,
  startStorageServer,
  storedKeys,
  type Database,
  type StorageServer,
  type StorageKind,
} from '../support/environment.js'

const SECONDS = Number(process.env.ATTRSTORE_CHAOS_SECONDS ?? 20)
const WORKERS = 50
const POOL = 10
const SEED_ROWS = 30

type Operation =
  | 'create'
  | 'import'
  | 'insert-import'
  | 'update'
  | 'update-criteria'
  | 'remove'
  | 'delete-criteria'
  | 'move'

/** The weighted draw of what a worker does next. */
const DRAW: Operation[] = [
  ...Array<Operation>(3).fill('import'),
  ...Array<Operation>(2).fill('insert-import'),
  ...Array<Operation>(2).fill('create'),
  ...Array<Operation>(2).fill('update'),
  'update-criteria',
  ...Array<Operation>(2).fill('remove'),
  'delete-criteria',
  'move',
]

const pick = <T>(items: readonly T[]): T => items[Math.floor(Math.random() * items.length)]!

for (const storageKind of ['fs', 's3'] as StorageKind[]) {
  describe(`chaos: imports, updates and removes on shared objects (postgres, pool of ${POOL}, ${storageKind})`, () => {
    let database: Database
    let storages: StorageServer
    beforeAll(async () => {
      ;[database, storages] = await Promise.all([
        startDatabase('postgres'),
        startStorageServer(storageKind),
      ])
    })
    afterAll(async () => {
      await Promise.all([database?.stop(), storages?.stop()])
    })

    it(
      `${WORKERS} workers for ${SECONDS} s leave no committed row whose object is missing`,
      async () => {
        const base = await database.dataSource()
        const dataSource = new DataSource({
          ...base.options,
          extra: { max: POOL },
        } as DataSourceOptions)
        const storage = await storages.create()
        setStorage(dataSource, KeyOnlyFile, 'data', storage)
        await dataSource.initialize()
        let cleanupFailures = 0
        storageEvents(dataSource).on('cleanupFailed', () => cleanupFailures++)
        try {
          const rows = dataSource.getRepository(KeyOnlyFile)
          await rows.save(
            Array.from({ length: SEED_ROWS }, (_, i) => rows.create({ data: `seed ${i}` })),
          )
          const done: Record<string, number> = {}
          const failed: Record<string, number> = {}
          const deadline = Date.now() + SECONDS * 1000

          const someRow = async (manager: EntityManager = dataSource.manager) =>
            manager.createQueryBuilder(KeyOnlyFile, 'row').orderBy('RANDOM()').limit(1).getOne()

          const run = async (operation: Operation): Promise<void> => {
            const bytes = () => Buffer.from(`${operation} ${Math.random()}`)
            switch (operation) {
              case 'create':
                await rows.save(rows.create({ data: bytes() }))
                return
              case 'import': {
                const source = await someRow()
                if (!source) return
                await dataSource.transaction((manager) =>
                  manager.save(
                    manager.create(KeyOnlyFile, { data: existingObject(source.data as string) }),
                  ),
                )
                return
              }
              case 'insert-import': {
                const source = await someRow()
                if (!source) return
                await rows.insert({ data: existingObject(source.data as string) })
                return
              }
              case 'update':
                await dataSource.transaction(async (manager) => {
                  const row = await someRow(manager)
                  if (!row) return
                  row.data = bytes()
                  await manager.save(row)
                })
                return
              case 'update-criteria': {
                const row = await someRow()
                if (row) await rows.update({ id: row.id }, { data: bytes() })
                return
              }
              case 'remove':
                await dataSource.transaction(async (manager) => {
                  const row = await someRow(manager)
                  if (row) await manager.remove(row)
                })
                return
              case 'delete-criteria': {
                const row = await someRow()
                if (row) await rows.delete({ id: row.id })
                return
              }
              case 'move':
                // The object changes rows: imported into a new one, its old row removed.
                await dataSource.transaction(async (manager) => {
                  const row = await someRow(manager)
                  if (!row) return
                  await manager.save(
                    manager.create(KeyOnlyFile, { data: existingObject(row.data as string) }),
                  )
                  await manager.remove(row)
                })
                return
            }
          }

          const current = new Map<number, Operation>() // what each worker is doing now
          const worker = async (_: unknown, index: number): Promise<void> => {
            while (Date.now() < deadline) {
              const operation = pick(DRAW)
              current.set(index, operation)
              try {
                await run(operation)
                done[operation] = (done[operation] ?? 0) + 1
              } catch (error) {
                const name = `${operation}: ${(error as Error).name ?? 'error'}`
                failed[name] = (failed[name] ?? 0) + 1
              }
            }
            current.delete(index)
          }
          const workers = Promise.all(Array.from({ length: WORKERS }, worker))
          let timer: NodeJS.Timeout | undefined
          const outcome = await Promise.race([
            workers.then(() => 'finished'),
            new Promise<string>((resolve) => {
              timer = setTimeout(() => resolve('hung'), (SECONDS + 60) * 1000)
            }),
          ])
          clearTimeout(timer)
          if (outcome === 'hung') {
            const activity = await dataSource.query<unknown[]>(
              'SELECT pid, state, wait_event_type, left(query, 80) AS query FROM pg_stat_activity WHERE datname = current_database()',
            )
            console.error('[chaos] stuck workers', Object.fromEntries(current), activity)
          }
          expect(outcome).toBe('finished')

          const dangling = await missingObjects(dataSource, storage)
          const checked = await rows.count()
          console.info(
            `[chaos] ${storageKind}: ${checked} rows checked, ${dangling.length} dangling; ` +
              `done ${JSON.stringify(done)}; failed ${JSON.stringify(failed)}; ` +
              `${cleanupFailures} clean-up failures`,
          )
          expect(dangling).toEqual([])
          expect(checked).toBeGreaterThan(0)
          expect((done.import ?? 0) + (done['insert-import'] ?? 0)).toBeGreaterThan(0)
          expect((done.remove ?? 0) + (done['delete-criteria'] ?? 0)).toBeGreaterThan(0)
        } finally {
          await dataSource.destroy()
        }
      },
      (SECONDS + 120) * 1000,
    )
  })
}

/** Keys that rows reference and the storage does not hold. */
async function missingObjects(
  dataSource: DataSource,
  storage: AttributeStorage,
): Promise<string[]> {
  const stored = new Set(await storedKeys(storage))
  return (await referencedKeys(dataSource, storage)).filter((key) => !stored.has(key))
}
