/** insert(), update() and delete() by criteria, remove() and soft removal. */
import { describe, expect, it } from 'vitest'
import { getStorageKey } from '@attrstore/typeorm'
import { File } from '../entities.js'
import { storedKeys, text } from '../environment.js'
import type { WorldContext } from '../world-per-test.js'

export function criteriaAndRemovalScenarios(t: WorldContext): void {
  describe('insert, update and delete by criteria', () => {
    it('insert() uploads and writes the key', async () => {
      await t.files().insert({ name: 'ins.bin', data: Buffer.from('inserted') })
      const row = await t.files().findOneByOrFail({ name: 'ins.bin' })
      expect(text(row.data)).toBe('inserted')
      await t.expectConsistent()
    })

    it('update(criteria, partial) uploads once and deletes every superseded object after commit', async () => {
      await t.newFile('m1', Buffer.from('old1'), { mimeType: 'application/x-group' })
      await t.newFile('m2', Buffer.from('old2'), { mimeType: 'application/x-group' })
      await t.newFile('m3', Buffer.from('other'), { mimeType: 'application/x-keep' })
      await t.files().update({ mimeType: 'application/x-group' }, { data: Buffer.from('new') })
      const rows = await t.files().find({ order: { name: 'ASC' } })
      expect(rows.map((row) => text(row.data))).toEqual(['new', 'new', 'other'])
      expect(getStorageKey(rows[0]!, 'data')).toBe(getStorageKey(rows[1]!, 'data'))
      await t.expectConsistent()
      // The shared object survives while one row still references it.
      await t.files().delete({ name: 'm1' })
      expect(text((await t.files().findOneByOrFail({ name: 'm2' })).data)).toBe('new')
      await t.expectConsistent()
    })

    it('a QueryBuilder update behaves the same', async () => {
      const file = await t.newFile('qb.bin', Buffer.from('before'))
      await t.world.dataSource
        .createQueryBuilder()
        .update(File)
        .set({ data: Buffer.from('after') })
        .where('id = :id', { id: file.id })
        .execute()
      expect(text((await t.files().findOneByOrFail({ id: file.id })).data)).toBe('after')
      await t.expectConsistent()
    })

    it('update(criteria, partial) that does not touch a stored attribute keeps every object', async () => {
      const file = await t.newFile('keep.bin', Buffer.from('keep'))
      t.world.main.resetCounts()
      await t.files().update({ id: file.id }, { mimeType: 'text/plain' })
      expect(t.world.main.calls).toMatchObject({ write: 0, read: 0, delete: 0 })
      await t.expectConsistent()
    })

    it('delete(criteria) deletes the objects of the deleted rows after commit', async () => {
      await t.newFile('d1', Buffer.from('1'), { mimeType: 'application/x-gone' })
      await t.newFile('d2', Buffer.from('2'), { mimeType: 'application/x-gone' })
      await t.newFile('d3', Buffer.from('3'))
      await t.files().delete({ mimeType: 'application/x-gone' })
      expect(await storedKeys(t.world.main)).toHaveLength(1)
      await t.expectConsistent()
    })
  })

  describe('remove and soft remove', () => {
    it('remove deletes the object after commit', async () => {
      const file = await t.newFile('r.bin', Buffer.from('remove me'))
      const key = getStorageKey(file, 'data')!
      await t.files().remove(file)
      expect(await t.world.main.exists(key)).toBe(false)
      await t.expectConsistent()
    })

    it('soft-removed rows keep their objects; recover and hard removal behave', async () => {
      const file = await t.newFile('s.bin', Buffer.from('soft'))
      const key = getStorageKey(file, 'data')!
      await t.files().softRemove(file)
      expect(await t.world.main.exists(key)).toBe(true)
      await t.expectConsistent()
      await t.files().recover(file)
      expect(text((await t.files().findOneByOrFail({ id: file.id })).data)).toBe('soft')
      await t.files().softDelete({ id: file.id })
      expect(await t.world.main.exists(key)).toBe(true)
      await t.files().delete({ id: file.id })
      expect(await t.world.main.exists(key)).toBe(false)
      await t.expectConsistent()
    })
  })
}
