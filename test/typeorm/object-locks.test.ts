/**
 * An import (`existingObject(key)`) and the clean-up that deletes the same object after
 * another transaction removed or replaced its row must not interleave: each ordering is
 * forced here with gates, and must end with no committed row whose object is missing.
 */
import { expect, it } from 'vitest'
import { existingObject, ObjectNotFoundError } from '@attrstore/core'
import { getStorageKey } from '@attrstore/typeorm'
import { File } from '../support/entities.js'
import { gate } from '../support/controlled-bodies.js'
import { describeOnEachDatabase, type WorldContext } from '../support/each-database.js'
import { text } from '../support/environment.js'
import { someoneWaits } from '../support/lock-waits.js'

/** Makes deletes of `key` from the world's main storage wait for a gate; `reached` opens when one does. */
function holdDeletes(t: WorldContext, key: string) {
  const reached = gate()
  const release = gate()
  const storage = t.world.main
  const remove = storage.delete.bind(storage)
  storage.delete = async (target: string) => {
    if (target === key) {
      reached.open()
      await release.opened
    }
    return remove(target)
  }
  return { reached: reached.opened, release: release.open }
}

describeOnEachDatabase('object locks: the clean-up locks first', (t) => {
  for (const how of ['remove', 'update'] as const) {
    it(`an import that starts while a committed ${how}'s clean-up is deleting the object fails, leaving no dangling row`, async () => {
      const original = await t.files().save(t.files().create({ name: 'orig.bin', data: 'shared' }))
      const key = getStorageKey(original, 'data')!
      const held = holdDeletes(t, key)
      // The clean-up has found no reference to `key` and is about to delete it...
      original.data = Buffer.from('replaced')
      const change = how === 'remove' ? t.files().remove(original) : t.files().save(original)
      await held.reached
      // ...when a transaction imports it. It must not commit a row while the delete goes on.
      const importing = t
        .files()
        .save(t.files().create({ name: 'copy.bin', data: existingObject(key) }))
        .then(
          () => 'saved',
          (error: unknown) => error,
        )
      await Promise.race([importing, someoneWaits(t)])
      held.release()
      await change
      const outcome = await importing
      expect(await t.missing()).toEqual([])
      expect(outcome).toBeInstanceOf(ObjectNotFoundError)
      expect(await t.files().countBy({ name: 'copy.bin' })).toBe(0)
    })
  }
})

describeOnEachDatabase(
  'object locks: the import locks first',
  (t) => {
    for (const how of ['remove', 'update'] as const) {
      it(`a ${how} committed while an import of its object is open keeps the object for the import`, async () => {
        const original = await t
          .files()
          .save(t.files().create({ name: 'orig.bin', data: 'shared' }))
        const key = getStorageKey(original, 'data')!
        const runner = t.world.dataSource.createQueryRunner()
        await runner.connect()
        try {
          await runner.startTransaction()
          await runner.manager.save(
            runner.manager.create(File, { name: 'copy.bin', data: existingObject(key) }),
          )
          // Another connection removes or replaces the original row; its clean-up (or its
          // statement) waits for the import, which then commits.
          original.data = Buffer.from('replaced')
          const change = how === 'remove' ? t.files().remove(original) : t.files().save(original)
          await Promise.race([change, someoneWaits(t)])
          await runner.commitTransaction()
          await change
        } finally {
          await runner.release()
        }
        expect(await t.missing()).toEqual([])
        expect(text((await t.files().findOneByOrFail({ name: 'copy.bin' })).data)).toBe('shared')
      })
    }
  },
  ['postgres'],
)
