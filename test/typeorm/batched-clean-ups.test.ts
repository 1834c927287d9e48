/**
 * The clean-up after a commit that removed or replaced many rows checks their objects'
 * references in one query per column, under the locks of the objects it could lock at
 * once; the others wait for their lock one at a time. Neither may delete an object a row
 * references, nor one an open import is about to reference.
 */
import { expect, it } from 'vitest'
import { existingObject } from '@attrstore/core'
import { getStorageKey } from '@attrstore/typeorm'
import { File } from '../support/entities.js'
import { describeOnEachDatabase, type WorldContext } from '../support/each-database.js'
import { text } from '../support/environment.js'
import { someoneWaits } from '../support/lock-waits.js'

async function filesWithKeys(
  t: WorldContext,
  count: number,
): Promise<{ files: File[]; keys: string[] }> {
  const files = await t
    .files()
    .save(
      Array.from({ length: count }, (_, i) =>
        t.files().create({ name: `f${i}.bin`, data: `body ${i}` }),
      ),
    )
  return { files, keys: files.map((file) => getStorageKey(file, 'data')!) }
}

async function existing(t: WorldContext, keys: string[]): Promise<string[]> {
  const found: string[] = []
  for (const key of keys) if (await t.world.main.exists(key)) found.push(key)
  return found
}

describeOnEachDatabase('batched clean-ups', (t) => {
  it('remove() of many entities deletes every object no row references and keeps the one another row imported', async () => {
    const { files, keys } = await filesWithKeys(t, 6)
    await t.files().save(t.files().create({ name: 'copy.bin', data: existingObject(keys[2]!) }))
    await t.files().remove(files)
    expect(await existing(t, keys)).toEqual([keys[2]])
    expect(await t.missing()).toEqual([])
    expect(text((await t.files().findOneByOrFail({ name: 'copy.bin' })).data)).toBe('body 2')
  })

  it('replacing many bodies in one transaction deletes the superseded objects, except one a row still holds', async () => {
    const { files, keys } = await filesWithKeys(t, 5)
    await t.files().save(t.files().create({ name: 'copy.bin', data: existingObject(keys[4]!) }))
    for (const [i, file] of files.entries()) file.data = Buffer.from(`new ${i}`)
    await t.world.dataSource.transaction((manager) => manager.save(files))
    expect(await existing(t, keys)).toEqual([keys[4]])
    expect(await t.missing()).toEqual([])
    expect(await t.orphans()).toEqual([])
  })
})

describeOnEachDatabase(
  'batched clean-ups and imports in flight',
  (t) => {
    it('an import open while a remove() of many commits keeps its object; the others are deleted without waiting for it', async () => {
      const { files, keys } = await filesWithKeys(t, 5)
      const runner = t.world.dataSource.createQueryRunner()
      await runner.connect()
      try {
        await runner.startTransaction()
        await runner.manager.save(
          runner.manager.create(File, { name: 'copy.bin', data: existingObject(keys[1]!) }),
        )
        // Another connection removes all five; the import holds keys[1]'s lock shared, so
        // the clean-up leaves that one to a wait of its own, after deleting the others.
        const removal = t.files().remove(files)
        await Promise.race([removal, someoneWaits(t)])
        expect(await existing(t, keys)).toEqual([keys[1]])
        await runner.commitTransaction()
        await removal
      } finally {
        await runner.release()
      }
      expect(await existing(t, keys)).toEqual([keys[1]])
      expect(await t.missing()).toEqual([])
      expect(text((await t.files().findOneByOrFail({ name: 'copy.bin' })).data)).toBe('body 1')
    })
  },
  ['postgres'],
)
