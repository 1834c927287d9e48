/** Explicit transactions: dataSource.transaction(), a manual QueryRunner, savepoints. */
import { describe, expect, it } from 'vitest'
import { getStorageKey } from '@attrstore/typeorm'
import { File } from '../entities.js'
import { storedKeys, text } from '../environment.js'
import type { WorldContext } from '../world-per-test.js'

export function transactionScenarios(t: WorldContext): void {
  describe('transactions', () => {
    it('dataSource.transaction: commit settles, rollback deletes only what it uploaded', async () => {
      const file = await t.newFile('t.bin', Buffer.from('original'))
      const original = getStorageKey(file, 'data')!
      await expect(
        t.world.dataSource.transaction(async (manager) => {
          const inside = await manager.findOneByOrFail(File, { id: file.id })
          inside.data = Buffer.from('replaced')
          await manager.save(inside)
          await manager.save(manager.create(File, { name: 't2.bin', data: Buffer.from('new row') }))
          expect(await storedKeys(t.world.main)).toHaveLength(3)
          throw new Error('abort the transaction')
        }),
      ).rejects.toThrow('abort the transaction')
      expect(await storedKeys(t.world.main)).toEqual([original])
      expect(text((await t.files().findOneByOrFail({ id: file.id })).data)).toBe('original')
      await t.world.dataSource.transaction(async (manager) => {
        const inside = await manager.findOneByOrFail(File, { id: file.id })
        inside.data = Buffer.from('committed')
        await manager.save(inside)
        expect(await t.world.main.exists(original)).toBe(true) // not before the commit
      })
      expect(await t.world.main.exists(original)).toBe(false)
      expect(text((await t.files().findOneByOrFail({ id: file.id })).data)).toBe('committed')
      await t.expectConsistent()
    })

    it('a manual QueryRunner transaction, committed and rolled back', async () => {
      const runner = t.world.dataSource.createQueryRunner()
      await runner.connect()
      try {
        await runner.startTransaction()
        const kept = await runner.manager.save(
          runner.manager.create(File, { name: 'qr1', data: Buffer.from('kept') }),
        )
        await runner.commitTransaction()
        const keptKey = getStorageKey(kept, 'data')
        await runner.startTransaction()
        const loaded = await runner.manager.findOneByOrFail(File, { id: kept.id })
        loaded.data = Buffer.from('discarded')
        await runner.manager.save(loaded)
        expect(getStorageKey(loaded, 'data')).not.toBe(keptKey)
        await runner.manager.remove(await runner.manager.findOneByOrFail(File, { id: kept.id }))
        await runner.rollbackTransaction()
        // The entity keeps the value the user gave, and points at the committed key again,
        // so saving it once more uploads again.
        expect(text(loaded.data)).toBe('discarded')
        expect(getStorageKey(loaded, 'data')).toBe(keptKey)
      } finally {
        await runner.release()
      }
      expect(text((await t.files().findOneByOrFail({ name: 'qr1' })).data)).toBe('kept')
      await t.expectConsistent()
    })

    it('a rolled-back savepoint undoes only its own uploads', async () => {
      const runner = t.world.dataSource.createQueryRunner()
      await runner.connect()
      try {
        await runner.startTransaction()
        await runner.manager.save(
          runner.manager.create(File, { name: 'outer', data: Buffer.from('outer') }),
        )
        await runner.startTransaction()
        await runner.manager.save(
          runner.manager.create(File, { name: 'inner', data: Buffer.from('inner') }),
        )
        await runner.rollbackTransaction()
        await runner.commitTransaction()
      } finally {
        await runner.release()
      }
      expect((await t.files().find()).map((file) => file.name)).toEqual(['outer'])
      await t.expectConsistent()
    })
  })
}
