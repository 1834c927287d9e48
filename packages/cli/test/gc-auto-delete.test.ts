import 'reflect-metadata'
import { afterEach, expect, it } from 'vitest'
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm'
import { MemoryStorage } from '@attrstore/core'
import { setStorage, StoredAttribute } from '@attrstore/typeorm'
import { collectGarbage } from '@attrstore/cli'

@Entity()
class Kept {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar' }) name!: string
  @StoredAttribute() data!: unknown
}

/** A storage that keeps superseded objects on purpose (the original's s3-auto-delete: false). */
class RetainingStorage extends MemoryStorage {
  readonly autoDelete = false
}

let dataSource: DataSource | undefined
afterEach(async () => {
  await dataSource?.destroy()
})

it('gc counts the orphans of an autoDelete: false storage but deletes them only when told to', async () => {
  dataSource = new DataSource({
    type: 'better-sqlite3',
    database: ':memory:',
    entities: [Kept],
    synchronize: true,
  })
  const storage = new RetainingStorage()
  setStorage(dataSource, Kept, 'data', storage)
  await dataSource.initialize()
  const repository = dataSource.getRepository(Kept)
  const row = await repository.save(repository.create({ name: 'a', data: Buffer.from('v1') }))
  row.data = Buffer.from('v2') // the v1 object is kept by the storage's policy
  await repository.save(row)
  expect(storage.size).toBe(2)

  const kept = await collectGarbage(dataSource, { delete: true, graceMs: 0 })
  expect(kept.stores[0]).toMatchObject({
    keptByPolicy: true,
    orphans: { count: 1 },
    deleted: { count: 0 },
  })
  expect(storage.size).toBe(2)

  const collected = await collectGarbage(dataSource, {
    delete: true,
    graceMs: 0,
    ignoreAutoDelete: true,
  })
  expect(collected.stores[0]).toMatchObject({ orphans: { count: 1 }, deleted: { count: 1 } })
  expect(collected.stores[0]?.keptByPolicy).toBeUndefined()
  expect(storage.size).toBe(1)
  expect(String((await repository.findOneByOrFail({ id: row.id })).data)).toBe('v2')
})
