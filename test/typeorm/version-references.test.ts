/**
 * A reference that pins a version (`<key>//versionId=<id>`) addresses the same object as
 * its key on a bucket without versioning (servers ignore the version): it must neither be
 * accepted by an import there, nor, when a row holds one anyway (written by raw SQL), be
 * deleted while another row references the key, or the other way round.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { existingObject, InvalidKeyError } from '@attrstore/core'
import { getStorageKey } from '@attrstore/typeorm'
import { File } from '../support/entities.js'
import {
  createWorld,
  startDatabase,
  storageFactory,
  text,
  type Database,
  type DatabaseKind,
  type StorageFactory,
  type World,
} from '../support/environment.js'

for (const kind of ['sqlite', 'postgres'] as DatabaseKind[]) {
  describe(`versioned references on an unversioned bucket (${kind}, s3)`, () => {
    let database: Database
    let storages: StorageFactory
    let world: World
    beforeAll(async () => {
      ;[database, storages] = await Promise.all([startDatabase(kind), storageFactory('s3')])
    })
    afterAll(async () => {
      await Promise.all([database?.stop(), storages?.stop()])
    })
    beforeEach(async () => {
      world = await createWorld(database, storages)
    })
    afterEach(async () => {
      await world?.destroy()
    })
    const files = () => world.dataSource.getRepository(File)

    /** The victim's row and key, and a row made to hold `<key>//versionId=abc` by raw SQL. */
    async function aliased(): Promise<{ key: string; alias: File }> {
      const victim = await files().save(files().create({ name: 'victim.bin', data: 'precious' }))
      const key = getStorageKey(victim, 'data')!
      const alias = await files().save(files().create({ name: 'alias.bin', data: 'mine' }))
      await files()
        .createQueryBuilder()
        .update()
        .set({ data: `${key}//versionId=abc` } as never)
        .where('id = :id', { id: alias.id })
        .callListeners(false)
        .execute()
      return { key, alias: await files().findOneByOrFail({ id: alias.id }) }
    }

    it('removing a row that holds <key>//versionId=… keeps the object another row holds under <key>', async () => {
      const { alias } = await aliased()
      await files().remove(alias)
      const victim = await files().findOneByOrFail({ name: 'victim.bin' })
      expect(text(victim.data)).toBe('precious')
    })

    it('replacing the row that holds <key> keeps the object a row holds under <key>//versionId=…', async () => {
      const { key } = await aliased()
      const victim = await files().findOneByOrFail({ name: 'victim.bin' })
      victim.data = Buffer.from('new content')
      await files().save(victim)
      expect(await world.main.exists(key)).toBe(true) // what alias.bin reads
    })

    it('existingObject(<key>//versionId=…) is refused with InvalidKeyError, and the key object kept', async () => {
      const victim = await files().save(files().create({ name: 'victim.bin', data: 'precious' }))
      const key = getStorageKey(victim, 'data')!
      await expect(
        files().save(
          files().create({ name: 'copy.bin', data: existingObject(`${key}//versionId=abc`) }),
        ),
      ).rejects.toBeInstanceOf(InvalidKeyError)
      expect(await files().countBy({ name: 'copy.bin' })).toBe(0)
      expect(text((await files().findOneByOrFail({ name: 'victim.bin' })).data)).toBe('precious')
    })
  })
}
