/**
 * Paths of the transaction table not exercised by test/support/scenarios.ts,
 * on SQLite and PostgreSQL with filesystem storages. Every test here PASSES against the
 * current code (behaviour verified correct); demonstrated bugs live elsewhere.
 */
import { Readable } from 'node:stream'
import { expect, it } from 'vitest'
import { StorageUnavailableError } from '@attrstore/core'
import { getStorageKey } from '@attrstore/typeorm'
import { File, Folder } from '../support/entities.js'
import { failingBody } from '../support/controlled-bodies.js'
import { describeOnEachDatabase } from '../support/each-database.js'
import { storedKeys, text } from '../support/environment.js'

describeOnEachDatabase('unit of work: saves', (t) => {
  it('save() of an array mixing new, changed and unchanged entities uploads only what changed', async () => {
    const [changed, unchanged] = await t
      .files()
      .save([
        t.files().create({ name: 'changed.bin', data: 'old' }),
        t.files().create({ name: 'unchanged.bin', data: 'same' }),
      ])
    const oldKey = getStorageKey(changed!, 'data')!
    const sameKey = getStorageKey(unchanged!, 'data')!
    const loadedUnchanged = await t.files().findOneByOrFail({ id: unchanged!.id })
    changed!.data = Buffer.from('new')
    t.world.main.resetCounts()
    const created = t.files().create({ name: 'created.bin', data: 'created' })
    await t.files().save([changed!, loadedUnchanged, created])
    expect(t.world.main.calls).toMatchObject({ write: 2, read: 0 })
    expect(await t.world.main.exists(oldKey)).toBe(false)
    expect(getStorageKey(loadedUnchanged, 'data')).toBe(sameKey)
    expect(text(loadedUnchanged.data)).toBe('same')
    const rows = await t.files().find({ order: { name: 'ASC' } })
    expect(rows.map((row) => text(row.data))).toEqual(['new', 'created', 'same'])
    await t.expectConsistent()
  })

  it('a cascade save of a parent uploads only the changed child and deletes its old object', async () => {
    const folders = t.world.dataSource.getRepository(Folder)
    const folder = await folders.save(
      folders.create({
        name: 'parent',
        files: [
          t.files().create({ name: 'kid1.bin', data: 'kid one' }),
          t.files().create({ name: 'kid2.bin', data: 'kid two' }),
        ],
      }),
    )
    const loaded = await folders.findOneOrFail({
      where: { id: folder.id },
      relations: { files: true },
    })
    const kid1 = loaded.files.find((file) => file.name === 'kid1.bin')!
    const kid2 = loaded.files.find((file) => file.name === 'kid2.bin')!
    const oldKid1 = getStorageKey(kid1, 'data')!
    const keptKid2 = getStorageKey(kid2, 'data')!
    kid1.data = Buffer.from('kid one, edited')
    t.world.main.resetCounts()
    await folders.save(loaded)
    expect(t.world.main.calls.write).toBe(1)
    expect(await t.world.main.exists(oldKid1)).toBe(false)
    expect(await t.world.main.exists(keptKid2)).toBe(true)
    expect(text((await t.files().findOneByOrFail({ name: 'kid1.bin' })).data)).toBe(
      'kid one, edited',
    )
    await t.expectConsistent()
  })

  it('one entity saved twice in one transaction: the intermediate upload and the first object go after commit', async () => {
    const file = await t.files().save(t.files().create({ name: 'twice.bin', data: 'v0' }))
    const k0 = getStorageKey(file, 'data')!
    let k1 = ''
    await t.world.dataSource.transaction(async (manager) => {
      const inside = await manager.findOneByOrFail(File, { id: file.id })
      inside.data = Buffer.from('v1')
      await manager.save(inside)
      k1 = getStorageKey(inside, 'data')!
      inside.data = Buffer.from('v2')
      await manager.save(inside)
      expect(await t.world.main.exists(k0)).toBe(true) // nothing deleted before the commit
      expect(await t.world.main.exists(k1)).toBe(true)
    })
    expect(await t.world.main.exists(k0)).toBe(false)
    expect(await t.world.main.exists(k1)).toBe(false)
    expect(text((await t.files().findOneByOrFail({ id: file.id })).data)).toBe('v2')
    await t.expectConsistent()
  })

  it('one entity saved twice in a rolled-back transaction: both uploads deleted, entity points at the committed key', async () => {
    const file = await t.files().save(t.files().create({ name: 'twice-rb.bin', data: 'v0' }))
    const k0 = getStorageKey(file, 'data')!
    const runner = t.world.dataSource.createQueryRunner()
    await runner.connect()
    try {
      await runner.startTransaction()
      file.data = Buffer.from('v1')
      await runner.manager.save(file)
      file.data = Buffer.from('v2')
      await runner.manager.save(file)
      await runner.rollbackTransaction()
    } finally {
      await runner.release()
    }
    expect(text(file.data)).toBe('v1') // the value of the first save of the rolled-back work
    expect(getStorageKey(file, 'data')).toBe(k0)
    expect(await storedKeys(t.world.main)).toEqual([k0])
    await t.expectConsistent()
  })

  it('update then remove in one transaction: both objects go after commit, not before', async () => {
    const file = await t.files().save(t.files().create({ name: 'upd-rm.bin', data: 'v0' }))
    const k0 = getStorageKey(file, 'data')!
    await t.world.dataSource.transaction(async (manager) => {
      file.data = Buffer.from('v1')
      await manager.save(file)
      const k1 = getStorageKey(file, 'data')!
      await manager.remove(file)
      expect(await t.world.main.exists(k0)).toBe(true)
      expect(await t.world.main.exists(k1)).toBe(true)
    })
    expect(await storedKeys(t.world.main)).toEqual([])
    await t.expectConsistent()
  })

  it('a savepoint that committed is undone by the outer rollback: its upload deleted, its superseded object kept', async () => {
    const file = await t.files().save(t.files().create({ name: 'sp.bin', data: 'v0' }))
    const k0 = getStorageKey(file, 'data')!
    const runner = t.world.dataSource.createQueryRunner()
    await runner.connect()
    try {
      await runner.startTransaction()
      await runner.startTransaction() // savepoint
      file.data = Buffer.from('inside savepoint')
      await runner.manager.save(file)
      await runner.manager.save(runner.manager.create(File, { name: 'sp-new.bin', data: 'new' }))
      await runner.commitTransaction() // release savepoint
      await runner.rollbackTransaction() // the outer transaction
    } finally {
      await runner.release()
    }
    expect(await storedKeys(t.world.main)).toEqual([k0])
    expect(getStorageKey(file, 'data')).toBe(k0)
    expect(text(file.data)).toBe('inside savepoint')
    expect(await t.files().count()).toBe(1)
    await t.expectConsistent()
  })

  it('save(..., { reload: false }) of new and changed entities', async () => {
    const file = t.files().create({ name: 'noreload.bin', data: 'v1' })
    await t.files().save(file, { reload: false })
    const row = await t.files().findOneByOrFail({ name: 'noreload.bin' })
    expect(text(row.data)).toBe('v1')
    row.data = Buffer.from('v2')
    await t.files().save(row, { reload: false })
    expect(text((await t.files().findOneByOrFail({ id: row.id })).data)).toBe('v2')
    await t.expectConsistent()
  })

  it('insert() of many rows uploads one object per row', async () => {
    await t
      .files()
      .insert(Array.from({ length: 20 }, (_, i) => ({ name: `bulk-${i}.bin`, data: `bulk ${i}` })))
    const rows = await t.files().find({ order: { id: 'ASC' } })
    expect(rows.map((row) => text(row.data))).toEqual(
      Array.from({ length: 20 }, (_, i) => `bulk ${i}`),
    )
    expect(await storedKeys(t.world.main)).toHaveLength(20)
    await t.expectConsistent()
  })

  it('the same row loaded into two objects and saved in turn: last write wins, nothing orphaned', async () => {
    const saved = await t.files().save(t.files().create({ name: 'twoobj.bin', data: 'v0' }))
    const a = await t.files().findOneByOrFail({ id: saved.id })
    const b = await t.files().findOneByOrFail({ id: saved.id })
    a.data = Buffer.from('from a')
    await t.files().save(a)
    b.data = Buffer.from('from b')
    await t.files().save(b)
    expect(text((await t.files().findOneByOrFail({ id: saved.id })).data)).toBe('from b')
    await t.expectConsistent()
  })

  it('update(criteria) in a rolled-back transaction deletes its upload and keeps the old objects', async () => {
    await t
      .files()
      .save([
        t.files().create({ name: 'g1.bin', data: 'g1', mimeType: 'group' }),
        t.files().create({ name: 'g2.bin', data: 'g2', mimeType: 'group' }),
      ])
    const before = await storedKeys(t.world.main)
    await expect(
      t.world.dataSource.transaction(async (manager) => {
        await manager.update(File, { mimeType: 'group' }, { data: Buffer.from('replaced') })
        throw new Error('roll back')
      }),
    ).rejects.toThrow('roll back')
    expect(await storedKeys(t.world.main)).toEqual(before)
    await t.expectConsistent()
  })
})

describeOnEachDatabase('unit of work: failures', (t) => {
  it('a streamed body that fails mid-way: no row, no object, the property keeps the stream', async () => {
    const body = failingBody()
    const file = t.files().create({ name: 'fails.bin', data: body })
    await expect(t.files().save(file)).rejects.toThrow('body failed on purpose')
    expect(file.data).toBe(body)
    expect(getStorageKey(file, 'data')).toBeUndefined()
    expect(await t.files().count()).toBe(0)
    expect(await storedKeys(t.world.main)).toEqual([])
    const readable = Readable.from(
      (async function* () {
        yield Buffer.from('x')
        throw new Error('readable failed on purpose')
      })(),
    )
    await expect(t.files().insert({ name: 'fails2.bin', data: readable })).rejects.toThrow(
      'readable failed on purpose',
    )
    expect(await storedKeys(t.world.main)).toEqual([])
    await t.expectConsistent()
  })

  it('a storage error during an eager load keeps its type and fails the find', async () => {
    await t.files().save(t.files().create({ name: 'load-err.bin', data: 'x' }))
    t.world.main.failOn({ operation: 'read' })
    await expect(t.files().find()).rejects.toBeInstanceOf(StorageUnavailableError)
    expect(text((await t.files().findOneByOrFail({ name: 'load-err.bin' })).data)).toBe('x')
  })
})

describeOnEachDatabase('unit of work: removals and queries', (t) => {
  it('softRemove keeps the object; remove of the soft-removed entity deletes it', async () => {
    const file = await t.files().save(t.files().create({ name: 'soft-then-hard.bin', data: 'x' }))
    const key = getStorageKey(file, 'data')!
    await t.files().softRemove(file)
    expect(await t.world.main.exists(key)).toBe(true)
    await t.files().remove(file)
    expect(await t.world.main.exists(key)).toBe(false)
    await t.expectConsistent()
  })

  it('delete(criteria) matching soft-deleted rows deletes their objects', async () => {
    const file = await t
      .files()
      .save(t.files().create({ name: 'soft-del.bin', data: 'x', mimeType: 'old' }))
    const key = getStorageKey(file, 'data')!
    await t.files().softDelete({ id: file.id })
    await t.files().delete({ mimeType: 'old' })
    expect(await t.files().createQueryBuilder('f').withDeleted().getCount()).toBe(0)
    expect(await t.world.main.exists(key)).toBe(false)
    await t.expectConsistent()
  })

  it('getRawMany selecting the stored column under an alias returns the key and downloads nothing', async () => {
    const file = await t.files().save(t.files().create({ name: 'raw.bin', data: 'x' }))
    t.world.main.resetCounts()
    const rows = await t
      .files()
      .createQueryBuilder('f')
      .select('f.data', 'blobKey')
      .addSelect('f.id', 'id')
      .getRawMany<{ blobKey: string }>()
    expect(rows[0]!.blobKey).toBe(getStorageKey(file, 'data'))
    expect(t.world.main.calls.read).toBe(0)
    // getRawAndEntities: the raw row keeps the key, the entity gets the content.
    const both = await t.files().createQueryBuilder('f').getRawAndEntities<{ f_data: string }>()
    expect(both.raw[0]!.f_data).toBe(getStorageKey(file, 'data'))
    expect(text(both.entities[0]!.data)).toBe('x')
    expect(t.world.main.calls.read).toBe(1)
  })
})

describeOnEachDatabase(
  'unit of work: PostgreSQL pool',
  (t) => {
    it('concurrent saves of different rows on a connection pool settle independently', async () => {
      const saved = await t
        .files()
        .save(
          Array.from({ length: 6 }, (_, i) =>
            t.files().create({ name: `p${i}.bin`, data: `v1 ${i}` }),
          ),
        )
      await Promise.all(
        saved.map(async (file, i) => {
          file.data = Buffer.from(`v2 ${i}`)
          if (i % 3 === 0) {
            await t.world.dataSource
              .transaction(async (manager) => {
                await manager.save(file)
                throw new Error('roll back')
              })
              .catch(() => undefined)
          } else {
            await t.files().save(file)
          }
        }),
      )
      const rows = await t.files().find({ order: { name: 'ASC' } })
      expect(rows.map((row) => text(row.data))).toEqual([
        'v1 0',
        'v2 1',
        'v2 2',
        'v1 3',
        'v2 4',
        'v2 5',
      ])
      await t.expectConsistent()
    })
  },
  ['postgres'],
)
