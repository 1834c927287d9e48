import 'reflect-metadata'
import { DataSource, Entity, PrimaryGeneratedColumn, Column } from 'typeorm'
import { MemoryStorage } from '@attrstore/core'
import { StoredAttribute, setStorage, getStorageKey } from '@attrstore/typeorm'
import { expect, it } from 'vitest'

@Entity()
class File {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar' }) name!: string
  @StoredAttribute() data!: Buffer | null
}

it('smoke', async () => {
  const ds = new DataSource({ type: 'better-sqlite3', database: ':memory:', entities: [File], synchronize: true })
  await ds.initialize()
  const storage = new MemoryStorage()
  setStorage(ds, File, 'data', storage)
  const repo = ds.getRepository(File)
  const f = repo.create({ name: 'a', data: Buffer.from('hello') })
  await repo.save(f)
  expect(storage.size).toBe(1)
  const key = getStorageKey(f, 'data')
  expect(typeof key).toBe('string')
  expect(f.data?.toString()).toBe('hello')
  const loaded = await repo.findOneByOrFail({ id: f.id })
  expect(loaded.data?.toString()).toBe('hello')
  await repo.save(loaded)
  expect(storage.size).toBe(1)
  loaded.data = Buffer.from('world')
  await repo.save(loaded)
  expect(storage.size).toBe(1)
  expect(getStorageKey(loaded, 'data')).not.toBe(key)
  await repo.remove(loaded)
  expect(storage.size).toBe(0)
  await ds.destroy()
})
