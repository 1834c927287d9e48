import 'reflect-metadata'
import { Entity, PrimaryGeneratedColumn } from 'typeorm'
import { getStorageKey, StoredAttribute } from '@attrstore/typeorm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createWorld,
  keyDifference,
  openStorage,
  startDatabaseServer,
  startStorageServer,
  type DatabaseServer,
  type StorageServer,
} from '../src/world/index.js'

@Entity()
class Note {
  @PrimaryGeneratedColumn() id!: number
  @StoredAttribute() body!: unknown
}

describe('@attrstore/testing/world (sqlite, fs)', () => {
  let databases: DatabaseServer
  let storages: StorageServer
  beforeAll(async () => {
    ;[databases, storages] = await Promise.all([
      startDatabaseServer('sqlite'),
      startStorageServer('fs'),
    ])
  })
  afterAll(() => Promise.all([databases?.stop(), storages?.stop()]))

  const world = async () =>
    createWorld(databases, {
      entities: [Note],
      storages: { notes: await storages.create() },
      attributes: [{ entity: Note, attribute: 'body', storage: 'notes' }],
    })

  it('keyDifference() names the orphaned and the missing objects', async () => {
    const { dataSource, storages: bound, destroy } = await world()
    try {
      const notes = dataSource.getRepository(Note)
      const kept = await notes.save(notes.create({ body: Buffer.from('kept') }))
      const lost = await notes.save(notes.create({ body: Buffer.from('lost') }))
      expect(await keyDifference(dataSource, bound.notes)).toEqual({ orphaned: [], missing: [] })
      const { key: orphan } = await bound.notes.write('nobody references this')
      const lostKey = getStorageKey(lost, 'body')!
      await bound.notes.delete(lostKey)
      expect(await keyDifference(dataSource, bound.notes)).toEqual({
        orphaned: [orphan],
        missing: [lostKey],
      })
      expect(String(await bound.notes.read(getStorageKey(kept, 'body')!))).toBe('kept')
    } finally {
      await destroy()
    }
  })

  it('each world has its own database and storage; a spec reopens the same storage', async () => {
    const first = await world()
    const second = await world()
    try {
      expect(first.database.location).not.toBe(second.database.location)
      await first.dataSource.getRepository(Note).save({ body: Buffer.from('only in the first') })
      expect(await second.dataSource.getRepository(Note).count()).toBe(0)
      const spec = storages.createSpec()
      const { key } = await (await openStorage(spec)).write('by spec')
      expect(String(await (await openStorage(spec)).read(key))).toBe('by spec')
    } finally {
      await Promise.all([first.destroy(), second.destroy()])
    }
  })

  it('an attribute bound to a storage name the world does not have is refused', async () => {
    const storage = await storages.create()
    // The compiler refuses the name; this checks the guard for callers without types.
    const attributes = [{ entity: Note, attribute: 'body', storage: 'elsewhere' as 'notes' }]
    await expect(
      createWorld(databases, { entities: [Note], storages: { notes: storage }, attributes }),
    ).rejects.toThrow('no storage named "elsewhere"')
  })
})
