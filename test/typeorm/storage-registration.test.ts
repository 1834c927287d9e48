/**
 * A registration made after loads and saves applies to the next ones: the subscriber keeps
 * each column's resolved storage (a load of many rows asks for it once per row), and a
 * later `setStorage` / `unsetStorage` replaces it.
 */
import 'reflect-metadata'
import { afterEach, describe, expect, it } from 'vitest'
import { Column, DataSource, Entity, PrimaryGeneratedColumn } from 'typeorm'
import { MemoryStorage } from '@attrstore/core'
import {
  getStorageKey,
  StoredAttribute,
  StoredContent,
  setStorage,
  unsetStorage,
} from '@attrstore/typeorm'

@Entity('registration_eager')
class EagerFile {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar' }) name!: string
  @StoredAttribute() data!: Buffer | null
}

@Entity('registration_lazy')
class LazyFile {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar' }) name!: string
  @StoredAttribute({ load: 'lazy' }) data!: StoredContent | Buffer | null
}

let dataSource: DataSource | undefined

afterEach(async () => {
  await dataSource?.destroy()
  dataSource = undefined
})

async function open(): Promise<DataSource> {
  dataSource = new DataSource({
    type: 'better-sqlite3',
    database: ':memory:',
    entities: [EagerFile, LazyFile],
    synchronize: true,
  })
  return dataSource
}

describe('storage registration after loads and saves', () => {
  it('a new setStorage takes over from the next save and load', async () => {
    const source = await open()
    const first = new MemoryStorage()
    const second = new MemoryStorage()
    setStorage(source, EagerFile, 'data', first)
    setStorage(source, LazyFile, 'data', first)
    await source.initialize()
    const files = source.getRepository(LazyFile)
    await files.save(files.create({ name: 'a', data: Buffer.from('first') }))
    expect((await files.findOneByOrFail({ name: 'a' })).data).toBeInstanceOf(StoredContent)

    setStorage(source, LazyFile, 'data', second)
    await files.save(files.create({ name: 'b', data: Buffer.from('second') }))
    const loaded = await files.findOneByOrFail({ name: 'b' })
    expect((loaded.data as StoredContent).storage).toBe(second)
    expect((await (loaded.data as StoredContent).buffer()).toString()).toBe('second')
    // The other entity's registration is untouched.
    const eager = source.getRepository(EagerFile)
    const saved = await eager.save(eager.create({ name: 'c', data: Buffer.from('eager') }))
    expect((await first.read(getStorageKey(saved, 'data')!)).toString()).toBe('eager')
    expect((await eager.findOneByOrFail({ name: 'c' })).data?.toString()).toBe('eager')
  })

  it('unsetStorage after loads makes the next load of a key fail with the clear error', async () => {
    const source = await open()
    setStorage(source, LazyFile, 'data', new MemoryStorage())
    await source.initialize()
    const files = source.getRepository(LazyFile)
    await files.save(files.create({ name: 'a', data: Buffer.from('x') }))
    expect((await files.find()).length).toBe(1)
    unsetStorage(source, LazyFile, 'data')
    await expect(files.find()).rejects.toThrow(/setStorage\(dataSource, LazyFile, 'data'/)
  })
})
