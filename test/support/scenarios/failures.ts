/** Failures: the storage down, the database refusing the row, failed clean-ups, missing objects. */
import { describe, expect, it } from 'vitest'
import { ObjectNotFoundError, StorageUnavailableError } from '@attrstore/core'
import { getStorageKey, storageEvents, unsetStorage, type CleanupFailure } from '@attrstore/typeorm'
import { File } from '../entities.js'
import { referencedKeys, storedKeys, text } from '../environment.js'
import type { WorldContext } from '../world-per-test.js'

export function failureScenarios(t: WorldContext): void {
  describe('failures', () => {
    it('storage down during a save: the save rejects and no row is written', async () => {
      t.world.main.failOn({ operation: 'write' })
      await expect(t.newFile('down.bin', Buffer.from('x'))).rejects.toBeInstanceOf(
        StorageUnavailableError,
      )
      expect(await t.files().count()).toBe(0)
      await t.expectConsistent()
    })

    it('the database rejects the row after the upload: the upload is deleted', async () => {
      await t.newFile('dup.bin', Buffer.from('first'))
      await expect(t.newFile('dup.bin', Buffer.from('second'))).rejects.toThrow()
      expect(await storedKeys(t.world.main)).toHaveLength(1)
      await t.expectConsistent()
      // And outside a transaction too.
      await expect(
        t
          .files()
          .save(t.files().create({ name: 'dup.bin', data: 'third' }), { transaction: false }),
      ).rejects.toThrow()
      await expect(
        t.files().insert({ name: 'dup.bin', data: Buffer.from('fourth') }),
      ).rejects.toThrow()
      await t.expectConsistent()
    })

    it('a failed post-commit delete does not fail the commit; it is reported', async () => {
      const failures: CleanupFailure[] = []
      storageEvents(t.world.dataSource).on('cleanupFailed', (failure) => failures.push(failure))
      const file = await t.newFile('pc.bin', Buffer.from('v1'))
      const oldKey = getStorageKey(file, 'data')!
      t.world.main.failOn({ operation: 'delete' })
      file.data = Buffer.from('v2')
      await t.files().save(file)
      expect(failures).toHaveLength(1)
      expect(failures[0]).toMatchObject({ operation: 'delete-after-commit', key: oldKey })
      expect(text((await t.files().findOneByOrFail({ id: file.id })).data)).toBe('v2')
      // Left for garbage collection: the orphan is the old object, and only it.
      const referenced = await referencedKeys(t.world.dataSource, t.world.main)
      expect((await storedKeys(t.world.main)).filter((key) => !referenced.includes(key))).toEqual([
        oldKey,
      ])
    })

    it('a load whose object is missing names entity, attribute and key', async () => {
      const file = await t.newFile('missing.bin', Buffer.from('x'))
      const key = getStorageKey(file, 'data')!
      await t.world.main.delete(key)
      const error = await t
        .files()
        .findOneBy({ id: file.id })
        .catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(ObjectNotFoundError)
      expect((error as Error).message).toContain('File.data')
      expect((error as Error).message).toContain(key)
    })

    it('an attribute with no storage registered fails with a clear error', async () => {
      unsetStorage(t.world.dataSource, File, 'data')
      await expect(t.newFile('none.bin', Buffer.from('x'))).rejects.toThrow(
        /setStorage\(dataSource, File, 'data'/,
      )
    })
  })
}
