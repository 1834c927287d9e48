/**
 * A reference that pins a version (`<key>//versionId=<id>`) addresses the same object as
 * its key on a bucket without versioning (servers ignore the version): it must neither be
 * accepted by an import there, nor, when a row holds one anyway (written by raw SQL), be
 * deleted while another row references the key, or the other way round.
 */
import { expect, it } from 'vitest'
import { existingObject, InvalidKeyError } from '@attrstore/core'
import { getStorageKey } from '@attrstore/typeorm'
import type { File } from '../support/entities.js'
import { describeOnEachDatabase } from '../support/each-database.js'
import { text } from '../support/environment.js'

describeOnEachDatabase(
  'versioned references on an unversioned bucket',
  (t) => {
    /** The victim's row and key, and a row made to hold `<key>//versionId=abc` by raw SQL. */
    async function aliased(): Promise<{ key: string; alias: File }> {
      const victim = await t
        .files()
        .save(t.files().create({ name: 'victim.bin', data: 'precious' }))
      const key = getStorageKey(victim, 'data')!
      const alias = await t.files().save(t.files().create({ name: 'alias.bin', data: 'mine' }))
      await t
        .files()
        .createQueryBuilder()
        .update()
        .set({ data: `${key}//versionId=abc` } as never)
        .where('id = :id', { id: alias.id })
        .callListeners(false)
        .execute()
      return { key, alias: await t.files().findOneByOrFail({ id: alias.id }) }
    }

    it('removing a row that holds <key>//versionId=… keeps the object another row holds under <key>', async () => {
      const { alias } = await aliased()
      await t.files().remove(alias)
      const victim = await t.files().findOneByOrFail({ name: 'victim.bin' })
      expect(text(victim.data)).toBe('precious')
    })

    it('replacing the row that holds <key> keeps the object a row holds under <key>//versionId=…', async () => {
      const { key } = await aliased()
      const victim = await t.files().findOneByOrFail({ name: 'victim.bin' })
      victim.data = Buffer.from('new content')
      await t.files().save(victim)
      expect(await t.world.main.exists(key)).toBe(true) // what alias.bin reads
    })

    it('existingObject(<key>//versionId=…) is refused with InvalidKeyError, and the key object kept', async () => {
      const victim = await t
        .files()
        .save(t.files().create({ name: 'victim.bin', data: 'precious' }))
      const key = getStorageKey(victim, 'data')!
      await expect(
        t
          .files()
          .save(
            t.files().create({ name: 'copy.bin', data: existingObject(`${key}//versionId=abc`) }),
          ),
      ).rejects.toBeInstanceOf(InvalidKeyError)
      expect(await t.files().countBy({ name: 'copy.bin' })).toBe(0)
      expect(text((await t.files().findOneByOrFail({ name: 'victim.bin' })).data)).toBe('precious')
    })
  },
  ['sqlite', 'postgres'],
  's3',
)
