/** save(): uploads before the row, imports of existing objects, deletes after commit. */
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { existingObject, ObjectNotFoundError } from '@attrstore/core'
import { getStorageKey, StoredContent } from '@attrstore/typeorm'
import { File, Folder, LazyFile } from '../entities.js'
import { storedKeys, text } from '../environment.js'
import type { WorldContext } from '../world-per-test.js'

export function saveScenarios(t: WorldContext): void {
  describe('save', () => {
    it('uploads before the insert and keeps the key in the column', async () => {
      const file = await t.newFile('a.txt', Buffer.from('alpha'), { mimeType: 'text/plain' })
      const key = getStorageKey(file, 'data')
      expect(typeof key).toBe('string')
      expect(text(file.data)).toBe('alpha')
      const raw = await t.world.dataSource.query(`SELECT data FROM file WHERE id = ${file.id}`)
      expect(raw[0].data).toBe(key)
      expect(String(await t.world.main.read(key!))).toBe('alpha')
      expect(key!.endsWith('.txt') || t.storageKind !== 'fs').toBe(true)
      await t.expectConsistent()
    })

    it('accepts every body type, streams included', async () => {
      const bodies: Array<[string, unknown, string]> = [
        ['buffer', Buffer.from('b1'), 'b1'],
        ['uint8', new Uint8Array([104, 105]), 'hi'],
        ['string', 'plain text é', 'plain text é'],
        ['readable', Readable.from([Buffer.from('str'), Buffer.from('eam')]), 'stream'],
        [
          'iterable',
          (async function* () {
            yield new Uint8Array([111, 107])
          })(),
          'ok',
        ],
        ['web stream', new Response('fetched').body, 'fetched'],
        ['blob', new Blob(['a ', 'blob']), 'a blob'],
      ]
      for (const [name, body, expected] of bodies) {
        const saved = await t.newFile(name, body)
        const loaded = await t.files().findOneByOrFail({ id: saved.id })
        expect(text(loaded.data)).toBe(expected)
        if (name === 'readable' || name === 'iterable' || name === 'web stream') {
          expect(saved.data).toBeInstanceOf(StoredContent)
          expect(String(await (saved.data as StoredContent).buffer())).toBe(expected)
        }
      }
      await t.expectConsistent()
    })

    it('saving an unchanged entity uploads nothing and downloads nothing', async () => {
      const saved = await t.newFile('same.bin', Buffer.from('unchanged'))
      const loaded = await t.files().findOneByOrFail({ id: saved.id })
      const key = getStorageKey(loaded, 'data')
      t.world.main.resetCounts()
      loaded.mimeType = 'text/plain'
      await t.files().save(loaded)
      await t.files().save(loaded)
      expect(t.world.main.calls).toMatchObject({ write: 0, read: 0, delete: 0 })
      expect(getStorageKey(loaded, 'data')).toBe(key)
      expect(text(loaded.data)).toBe('unchanged')
      expect((await t.files().findOneByOrFail({ id: saved.id })).mimeType).toBe('text/plain')
      await t.expectConsistent()
    })

    it('an in-place edit of a loaded Buffer is noticed', async () => {
      const saved = await t.newFile('edit.bin', Buffer.from('abc'))
      const loaded = await t.files().findOneByOrFail({ id: saved.id })
      ;(loaded.data as Buffer)[0] = 'x'.charCodeAt(0)
      await t.files().save(loaded)
      expect(text((await t.files().findOneByOrFail({ id: saved.id })).data)).toBe('xbc')
      await t.expectConsistent()
    })

    it('an update uploads under a new key and deletes the old object after commit', async () => {
      const file = await t.newFile('u.bin', Buffer.from('v1'))
      const oldKey = getStorageKey(file, 'data')!
      file.data = Buffer.from('v2')
      await t.files().save(file)
      const newKey = getStorageKey(file, 'data')!
      expect(newKey).not.toBe(oldKey)
      expect(await t.world.main.exists(oldKey)).toBe(false)
      expect(text((await t.files().findOneByOrFail({ id: file.id })).data)).toBe('v2')
      await t.expectConsistent()
    })

    it('setting null deletes the old object after commit', async () => {
      const file = await t.newFile('n.bin', Buffer.from('soon null'))
      const oldKey = getStorageKey(file, 'data')!
      file.data = null
      await t.files().save(file)
      expect(getStorageKey(file, 'data')).toBeNull()
      expect(await t.world.main.exists(oldKey)).toBe(false)
      expect((await t.files().findOneByOrFail({ id: file.id })).data).toBeNull()
      await t.expectConsistent()
    })

    it('a storage with autoDelete: false keeps superseded and removed objects; rollbacks still delete', async () => {
      Object.defineProperty(t.world.main, 'autoDelete', { value: false })
      const file = await t.newFile('kept.bin', Buffer.from('v1'))
      const first = getStorageKey(file, 'data')!
      file.data = Buffer.from('v2')
      await t.files().save(file)
      const second = getStorageKey(file, 'data')!
      await t.files().remove(file)
      expect(await storedKeys(t.world.main)).toEqual([first, second].sort())
      await expect(
        t.world.dataSource.transaction(async (manager) => {
          await manager.save(
            manager.create(File, { name: 'rolled.bin', data: Buffer.from('gone') }),
          )
          throw new Error('roll back')
        }),
      ).rejects.toThrow('roll back')
      expect(await storedKeys(t.world.main)).toEqual([first, second].sort())
    })

    it('save with { transaction: false } settles as each statement commits', async () => {
      const file = t.files().create({ name: 'nt.bin', data: Buffer.from('one') })
      await t.files().save(file, { transaction: false })
      const first = getStorageKey(file, 'data')!
      file.data = Buffer.from('two')
      await t.files().save(file, { transaction: false })
      expect(await t.world.main.exists(first)).toBe(false)
      await t.expectConsistent()
    })

    it('cascades through relations', async () => {
      const folder = t.world.dataSource.getRepository(Folder).create({
        name: 'docs',
        files: [
          t.files().create({ name: 'c1', data: Buffer.from('one') }),
          t.files().create({ name: 'c2', data: 'two' }),
        ],
      })
      await t.world.dataSource.getRepository(Folder).save(folder)
      const loaded = await t.world.dataSource
        .getRepository(Folder)
        .findOneOrFail({ where: { id: folder.id }, relations: { files: true } })
      expect(loaded.files.map((file) => text(file.data)).sort()).toEqual(['one', 'two'])
      await t.expectConsistent()
    })

    it('imports an existing object without copying, and a rollback does not delete it', async () => {
      const original = await t.newFile('orig.bin', Buffer.from('shared'))
      const key = getStorageKey(original, 'data')!
      t.world.main.resetCounts()
      const copy = await t.newFile('copy.bin', existingObject(key))
      expect(getStorageKey(copy, 'data')).toBe(key)
      expect(t.world.main.calls.write).toBe(1)
      expect(await storedKeys(t.world.main)).toEqual([key])
      await expect(
        t.world.dataSource.transaction(async (manager) => {
          await manager.save(manager.create(File, { name: 'copy2.bin', data: existingObject(key) }))
          throw new Error('roll back')
        }),
      ).rejects.toThrow('roll back')
      expect(await t.world.main.exists(key)).toBe(true)
      // Removing one of two rows sharing a key keeps the object for the other.
      await t.files().remove(copy)
      expect(await t.world.main.exists(key)).toBe(true)
      expect(text((await t.files().findOneByOrFail({ id: original.id })).data)).toBe('shared')
      await t.expectConsistent()
    })

    it('a lazy handle assigned to another entity imports its object', async () => {
      const lazy = t.world.dataSource.getRepository(LazyFile)
      const first = await lazy.save(lazy.create({ position: 1, data: Buffer.from('handle') }))
      const loaded = await lazy.findOneByOrFail({ id: first.id })
      const second = await lazy.save(lazy.create({ position: 2, data: loaded.data }))
      expect(getStorageKey(second, 'data')).toBe(getStorageKey(loaded, 'data'))
      expect(await storedKeys(t.world.main)).toHaveLength(1)
      await t.expectConsistent()
    })

    it('an import of a missing object is refused and no row is written', async () => {
      await expect(t.newFile('ghost.bin', existingObject('does/not/exist'))).rejects.toBeInstanceOf(
        ObjectNotFoundError,
      )
      expect(await t.files().count()).toBe(0)
    })
  })
}
