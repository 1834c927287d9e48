/**
 * Random sequences of the write paths, committed or rolled back, with the invariant of
 * docs/architecture.md checked after every step: every committed row's key resolves to its bytes,
 * and the storage holds exactly the objects the rows reference. Seeded, so a failure
 * names its seed and replays.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { EntityManager } from 'typeorm'
import { File } from '../support/entities.js'
import {
  createWorld,
  referencedKeys,
  startDatabase,
  startStorageServer,
  storedKeys,
  type Database,
  type DatabaseKind,
  type StorageServer,
} from '../support/environment.js'

/** mulberry32: small, fast, good enough to pick operations. */
function random(seed: number): () => number {
  let state = seed >>> 0
  return () => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

type Step = (
  manager: EntityManager,
  next: () => number,
  expected: Map<string, string | null>,
) => Promise<string>

const pick = <T>(items: T[], next: () => number): T | undefined =>
  items[Math.floor(next() * items.length)]

/** Each step does one write and records what the rows should now hold, if it commits. */
const steps: Step[] = [
  async (manager, next, expected) => {
    const name = `f${Math.floor(next() * 1e9)}`
    const content = `new ${name}`
    await manager.save(manager.create(File, { name, data: Buffer.from(content) }))
    expected.set(name, content)
    return `insert ${name}`
  },
  async (manager, next, expected) => {
    const name = pick([...expected.keys()], next)
    if (!name) return 'update (nothing)'
    const file = await manager.findOneByOrFail(File, { name })
    const content = `v${Math.floor(next() * 1e6)} of ${name}`
    file.data =
      next() < 0.5
        ? Buffer.from(content)
        : (async function* () {
            yield Buffer.from(content)
          })()
    await manager.save(file)
    expected.set(name, content)
    return `update ${name}`
  },
  async (manager, next, expected) => {
    const name = pick([...expected.keys()], next)
    if (!name) return 'null (nothing)'
    const file = await manager.findOneByOrFail(File, { name })
    file.data = null
    await manager.save(file)
    expected.set(name, null)
    return `null ${name}`
  },
  async (manager, next, expected) => {
    const name = pick([...expected.keys()], next)
    if (!name) return 'remove (nothing)'
    await manager.remove(await manager.findOneByOrFail(File, { name }))
    expected.delete(name)
    return `remove ${name}`
  },
  async (manager, next, expected) => {
    const name = pick([...expected.keys()], next)
    if (!name) return 'criteria update (nothing)'
    const content = `criteria ${Math.floor(next() * 1e6)}`
    await manager.update(File, { name }, { data: Buffer.from(content) })
    expected.set(name, content)
    return `criteria update ${name}`
  },
  async (manager, next, expected) => {
    const name = pick([...expected.keys()], next)
    if (!name) return 'criteria delete (nothing)'
    await manager.delete(File, { name })
    expected.delete(name)
    return `criteria delete ${name}`
  },
  async (manager, next, expected) => {
    const name = pick([...expected.keys()], next)
    if (!name) return 'soft remove (nothing)'
    const file = await manager.findOneByOrFail(File, { name })
    await manager.softRemove(file)
    await manager.recover(file)
    return `soft remove + recover ${name}`
  },
]

function describeRandomSequences(
  databaseKind: DatabaseKind,
  seeds: number[],
  length: number,
): void {
  describe(`random write sequences on ${databaseKind} with fs storage`, () => {
    let database: Database
    let storages: StorageServer
    beforeAll(async () => {
      ;[database, storages] = await Promise.all([
        startDatabase(databaseKind),
        startStorageServer('fs'),
      ])
    })
    afterAll(async () => {
      await Promise.all([database?.stop(), storages?.stop()])
    })

    for (const seed of seeds) {
      it(`seed ${seed}: ${length} steps, each committed or rolled back`, async () => {
        const world = await createWorld(database, storages)
        const next = random(seed)
        const committed = new Map<string, string | null>()
        const log: string[] = []
        try {
          for (let index = 0; index < length; index++) {
            const rollback = next() < 0.3
            const batch = 1 + Math.floor(next() * 3)
            const expected = new Map(committed)
            await world.dataSource
              .transaction(async (manager) => {
                for (let step = 0; step < batch; step++) {
                  log.push(
                    `${index}${rollback ? ' (rolled back)' : ''}: ${await pick(steps, next)!(manager, next, expected)}`,
                  )
                }
                if (rollback) throw new Error('roll back on purpose')
              })
              .catch((error: unknown) => {
                if (!(error instanceof Error && error.message === 'roll back on purpose'))
                  throw error
              })
            if (!rollback) {
              committed.clear()
              for (const [name, content] of expected) committed.set(name, content)
            }

            const rows = await world.dataSource.getRepository(File).find({ withDeleted: true })
            const actual = new Map(
              rows.map((row) => [row.name, Buffer.isBuffer(row.data) ? row.data.toString() : null]),
            )
            expect(actual, `after step ${index}, seed ${seed}:\n${log.join('\n')}`).toEqual(
              committed,
            )
            expect(
              await storedKeys(world.main),
              `objects after step ${index}, seed ${seed}:\n${log.join('\n')}`,
            ).toEqual(await referencedKeys(world.dataSource, world.main))
          }
        } finally {
          await world.destroy()
        }
      }, 120_000)
    }
  })
}

describeRandomSequences('sqlite', [1, 2, 3, 4], 40)
describeRandomSequences('postgres', [5, 6], 30)
