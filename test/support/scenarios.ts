/**
 * the transaction table of docs/architecture.md, for every way TypeORM writes and loads, against one
 * database kind and one storage kind. After each scenario both sides are checked: each
 * committed row's key resolves to its bytes, and the storage holds exactly the objects
 * the rows reference (no orphan, nothing missing), unless the scenario says otherwise.
 */
import { Readable } from 'node:stream'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { existingObject, ObjectNotFoundError, StorageUnavailableError } from '@attrstore/core'
import {
  getStorageKey,
  storageEvents,
  StoredContent,
  unsetStorage,
  type CleanupFailure,
} from '@attrstore/typeorm'
import { Document, File, Folder, KeyOnlyFile, LazyFile, Message } from './entities.js'
import {
  createWorld,
  referencedKeys,
  startDatabase,
  storageFactory,
  storedKeys,
  text,
  type Database,
  type DatabaseKind,
  type NamedS3Storages,
  type StorageFactory,
  type StorageKind,
  type World,
} from './environment.js'

/**
 * Describes every scenario on one database kind and one storage kind. `named` (S3 only):
 * storages on a named engine, started by the test file with `s3StoragesOrSkip` and stopped
 * by it; when that engine cannot run here, every scenario is skipped under a title that
 * says why. Without it, the storages come from `storageFactory(storageKind)` (auto mode).
 */
export function describeTypeormScenarios(
  databaseKind: DatabaseKind,
  storageKind: StorageKind,
  named?: NamedS3Storages,
): void {
  const on = named ? ` on ${named.engine}` : ''
  const skipped = named?.skip !== undefined ? ` (skipped: ${named.skip})` : ''
  const describeHere = describe.skipIf(skipped !== '')
  describeHere(`TypeORM on ${databaseKind} with ${storageKind} storage${on}${skipped}`, () => {
    let database: Database
    let storages: StorageFactory
    let world: World

    beforeAll(async () => {
      ;[database, storages] = await Promise.all([
        startDatabase(databaseKind),
        named?.factory ?? storageFactory(storageKind),
      ])
    })
    afterAll(async () => {
      await Promise.all([database?.stop(), named ? undefined : storages?.stop()])
    })
    beforeEach(async () => {
      world = await createWorld(database, storages)
    })
    afterEach(async () => {
      await world?.destroy()
    })

    const files = () => world.dataSource.getRepository(File)

    /** The storages hold exactly what the rows reference, and every reference resolves. */
    async function expectConsistent(): Promise<void> {
      for (const storage of [world.main, world.second]) {
        const referenced = await referencedKeys(world.dataSource, storage)
        expect(await storedKeys(storage)).toEqual(referenced)
      }
    }

    async function newFile(name: string, data: unknown, extra: Partial<File> = {}): Promise<File> {
      return files().save(files().create({ name, data, ...extra }))
    }

    describe('save', () => {
      it('uploads before the insert and keeps the key in the column', async () => {
        const file = await newFile('a.txt', Buffer.from('alpha'), { mimeType: 'text/plain' })
        const key = getStorageKey(file, 'data')
        expect(typeof key).toBe('string')
        expect(text(file.data)).toBe('alpha')
        const raw = await world.dataSource.query(`SELECT data FROM file WHERE id = ${file.id}`)
        expect(raw[0].data).toBe(key)
        expect(String(await world.main.read(key!))).toBe('alpha')
        expect(key!.endsWith('.txt') || storageKind !== 'fs').toBe(true)
        await expectConsistent()
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
          const saved = await newFile(name, body)
          const loaded = await files().findOneByOrFail({ id: saved.id })
          expect(text(loaded.data)).toBe(expected)
          if (name === 'readable' || name === 'iterable' || name === 'web stream') {
            expect(saved.data).toBeInstanceOf(StoredContent)
            expect(String(await (saved.data as StoredContent).buffer())).toBe(expected)
          }
        }
        await expectConsistent()
      })

      it('saving an unchanged entity uploads nothing and downloads nothing', async () => {
        const saved = await newFile('same.bin', Buffer.from('unchanged'))
        const loaded = await files().findOneByOrFail({ id: saved.id })
        const key = getStorageKey(loaded, 'data')
        world.main.resetCounts()
        loaded.mimeType = 'text/plain'
        await files().save(loaded)
        await files().save(loaded)
        expect(world.main.calls).toMatchObject({ write: 0, read: 0, delete: 0 })
        expect(getStorageKey(loaded, 'data')).toBe(key)
        expect(text(loaded.data)).toBe('unchanged')
        expect((await files().findOneByOrFail({ id: saved.id })).mimeType).toBe('text/plain')
        await expectConsistent()
      })

      it('an in-place edit of a loaded Buffer is noticed', async () => {
        const saved = await newFile('edit.bin', Buffer.from('abc'))
        const loaded = await files().findOneByOrFail({ id: saved.id })
        ;(loaded.data as Buffer)[0] = 'x'.charCodeAt(0)
        await files().save(loaded)
        expect(text((await files().findOneByOrFail({ id: saved.id })).data)).toBe('xbc')
        await expectConsistent()
      })

      it('an update uploads under a new key and deletes the old object after commit', async () => {
        const file = await newFile('u.bin', Buffer.from('v1'))
        const oldKey = getStorageKey(file, 'data')!
        file.data = Buffer.from('v2')
        await files().save(file)
        const newKey = getStorageKey(file, 'data')!
        expect(newKey).not.toBe(oldKey)
        expect(await world.main.exists(oldKey)).toBe(false)
        expect(text((await files().findOneByOrFail({ id: file.id })).data)).toBe('v2')
        await expectConsistent()
      })

      it('setting null deletes the old object after commit', async () => {
        const file = await newFile('n.bin', Buffer.from('soon null'))
        const oldKey = getStorageKey(file, 'data')!
        file.data = null
        await files().save(file)
        expect(getStorageKey(file, 'data')).toBeNull()
        expect(await world.main.exists(oldKey)).toBe(false)
        expect((await files().findOneByOrFail({ id: file.id })).data).toBeNull()
        await expectConsistent()
      })

      it('a storage with autoDelete: false keeps superseded and removed objects; rollbacks still delete', async () => {
        Object.defineProperty(world.main, 'autoDelete', { value: false })
        const file = await newFile('kept.bin', Buffer.from('v1'))
        const first = getStorageKey(file, 'data')!
        file.data = Buffer.from('v2')
        await files().save(file)
        const second = getStorageKey(file, 'data')!
        await files().remove(file)
        expect(await storedKeys(world.main)).toEqual([first, second].sort())
        await expect(
          world.dataSource.transaction(async (manager) => {
            await manager.save(
              manager.create(File, { name: 'rolled.bin', data: Buffer.from('gone') }),
            )
            throw new Error('roll back')
          }),
        ).rejects.toThrow('roll back')
        expect(await storedKeys(world.main)).toEqual([first, second].sort())
      })

      it('save with { transaction: false } settles as each statement commits', async () => {
        const file = files().create({ name: 'nt.bin', data: Buffer.from('one') })
        await files().save(file, { transaction: false })
        const first = getStorageKey(file, 'data')!
        file.data = Buffer.from('two')
        await files().save(file, { transaction: false })
        expect(await world.main.exists(first)).toBe(false)
        await expectConsistent()
      })

      it('cascades through relations', async () => {
        const folder = world.dataSource.getRepository(Folder).create({
          name: 'docs',
          files: [
            files().create({ name: 'c1', data: Buffer.from('one') }),
            files().create({ name: 'c2', data: 'two' }),
          ],
        })
        await world.dataSource.getRepository(Folder).save(folder)
        const loaded = await world.dataSource
          .getRepository(Folder)
          .findOneOrFail({ where: { id: folder.id }, relations: { files: true } })
        expect(loaded.files.map((file) => text(file.data)).sort()).toEqual(['one', 'two'])
        await expectConsistent()
      })

      it('imports an existing object without copying, and a rollback does not delete it', async () => {
        const original = await newFile('orig.bin', Buffer.from('shared'))
        const key = getStorageKey(original, 'data')!
        world.main.resetCounts()
        const copy = await newFile('copy.bin', existingObject(key))
        expect(getStorageKey(copy, 'data')).toBe(key)
        expect(world.main.calls.write).toBe(1)
        expect(await storedKeys(world.main)).toEqual([key])
        await expect(
          world.dataSource.transaction(async (manager) => {
            await manager.save(
              manager.create(File, { name: 'copy2.bin', data: existingObject(key) }),
            )
            throw new Error('roll back')
          }),
        ).rejects.toThrow('roll back')
        expect(await world.main.exists(key)).toBe(true)
        // Removing one of two rows sharing a key keeps the object for the other.
        await files().remove(copy)
        expect(await world.main.exists(key)).toBe(true)
        expect(text((await files().findOneByOrFail({ id: original.id })).data)).toBe('shared')
        await expectConsistent()
      })

      it('a lazy handle assigned to another entity imports its object', async () => {
        const lazy = world.dataSource.getRepository(LazyFile)
        const first = await lazy.save(lazy.create({ position: 1, data: Buffer.from('handle') }))
        const loaded = await lazy.findOneByOrFail({ id: first.id })
        const second = await lazy.save(lazy.create({ position: 2, data: loaded.data }))
        expect(getStorageKey(second, 'data')).toBe(getStorageKey(loaded, 'data'))
        expect(await storedKeys(world.main)).toHaveLength(1)
        await expectConsistent()
      })

      it('an import of a missing object is refused and no row is written', async () => {
        await expect(newFile('ghost.bin', existingObject('does/not/exist'))).rejects.toBeInstanceOf(
          ObjectNotFoundError,
        )
        expect(await files().count()).toBe(0)
      })
    })

    describe('insert, update and delete by criteria', () => {
      it('insert() uploads and writes the key', async () => {
        await files().insert({ name: 'ins.bin', data: Buffer.from('inserted') })
        const row = await files().findOneByOrFail({ name: 'ins.bin' })
        expect(text(row.data)).toBe('inserted')
        await expectConsistent()
      })

      it('update(criteria, partial) uploads once and deletes every superseded object after commit', async () => {
        await newFile('m1', Buffer.from('old1'), { mimeType: 'application/x-group' })
        await newFile('m2', Buffer.from('old2'), { mimeType: 'application/x-group' })
        await newFile('m3', Buffer.from('other'), { mimeType: 'application/x-keep' })
        await files().update({ mimeType: 'application/x-group' }, { data: Buffer.from('new') })
        const rows = await files().find({ order: { name: 'ASC' } })
        expect(rows.map((row) => text(row.data))).toEqual(['new', 'new', 'other'])
        expect(getStorageKey(rows[0]!, 'data')).toBe(getStorageKey(rows[1]!, 'data'))
        await expectConsistent()
        // The shared object survives while one row still references it.
        await files().delete({ name: 'm1' })
        expect(text((await files().findOneByOrFail({ name: 'm2' })).data)).toBe('new')
        await expectConsistent()
      })

      it('a QueryBuilder update behaves the same', async () => {
        const file = await newFile('qb.bin', Buffer.from('before'))
        await world.dataSource
          .createQueryBuilder()
          .update(File)
          .set({ data: Buffer.from('after') })
          .where('id = :id', { id: file.id })
          .execute()
        expect(text((await files().findOneByOrFail({ id: file.id })).data)).toBe('after')
        await expectConsistent()
      })

      it('update(criteria, partial) that does not touch a stored attribute keeps every object', async () => {
        const file = await newFile('keep.bin', Buffer.from('keep'))
        world.main.resetCounts()
        await files().update({ id: file.id }, { mimeType: 'text/plain' })
        expect(world.main.calls).toMatchObject({ write: 0, read: 0, delete: 0 })
        await expectConsistent()
      })

      it('delete(criteria) deletes the objects of the deleted rows after commit', async () => {
        await newFile('d1', Buffer.from('1'), { mimeType: 'application/x-gone' })
        await newFile('d2', Buffer.from('2'), { mimeType: 'application/x-gone' })
        await newFile('d3', Buffer.from('3'))
        await files().delete({ mimeType: 'application/x-gone' })
        expect(await storedKeys(world.main)).toHaveLength(1)
        await expectConsistent()
      })
    })

    describe('remove and soft remove', () => {
      it('remove deletes the object after commit', async () => {
        const file = await newFile('r.bin', Buffer.from('remove me'))
        const key = getStorageKey(file, 'data')!
        await files().remove(file)
        expect(await world.main.exists(key)).toBe(false)
        await expectConsistent()
      })

      it('soft-removed rows keep their objects; recover and hard removal behave', async () => {
        const file = await newFile('s.bin', Buffer.from('soft'))
        const key = getStorageKey(file, 'data')!
        await files().softRemove(file)
        expect(await world.main.exists(key)).toBe(true)
        await expectConsistent()
        await files().recover(file)
        expect(text((await files().findOneByOrFail({ id: file.id })).data)).toBe('soft')
        await files().softDelete({ id: file.id })
        expect(await world.main.exists(key)).toBe(true)
        await files().delete({ id: file.id })
        expect(await world.main.exists(key)).toBe(false)
        await expectConsistent()
      })
    })

    describe('transactions', () => {
      it('dataSource.transaction: commit settles, rollback deletes only what it uploaded', async () => {
        const file = await newFile('t.bin', Buffer.from('original'))
        const original = getStorageKey(file, 'data')!
        await expect(
          world.dataSource.transaction(async (manager) => {
            const inside = await manager.findOneByOrFail(File, { id: file.id })
            inside.data = Buffer.from('replaced')
            await manager.save(inside)
            await manager.save(
              manager.create(File, { name: 't2.bin', data: Buffer.from('new row') }),
            )
            expect(await storedKeys(world.main)).toHaveLength(3)
            throw new Error('abort the transaction')
          }),
        ).rejects.toThrow('abort the transaction')
        expect(await storedKeys(world.main)).toEqual([original])
        expect(text((await files().findOneByOrFail({ id: file.id })).data)).toBe('original')
        await world.dataSource.transaction(async (manager) => {
          const inside = await manager.findOneByOrFail(File, { id: file.id })
          inside.data = Buffer.from('committed')
          await manager.save(inside)
          expect(await world.main.exists(original)).toBe(true) // not before the commit
        })
        expect(await world.main.exists(original)).toBe(false)
        expect(text((await files().findOneByOrFail({ id: file.id })).data)).toBe('committed')
        await expectConsistent()
      })

      it('a manual QueryRunner transaction, committed and rolled back', async () => {
        const runner = world.dataSource.createQueryRunner()
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
        expect(text((await files().findOneByOrFail({ name: 'qr1' })).data)).toBe('kept')
        await expectConsistent()
      })

      it('a rolled-back savepoint undoes only its own uploads', async () => {
        const runner = world.dataSource.createQueryRunner()
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
        expect((await files().find()).map((file) => file.name)).toEqual(['outer'])
        await expectConsistent()
      })
    })

    describe('loads', () => {
      it('find, findOne, QueryBuilder getMany/getOne, and relations eager and joined', async () => {
        const folder = await world.dataSource
          .getRepository(Folder)
          .save({ name: 'f', files: [files().create({ name: 'l1', data: Buffer.from('one') })] })
        const messages = world.dataSource.getRepository(Message)
        const file = await files().findOneByOrFail({ name: 'l1' })
        await messages.save(
          messages.create({
            attachment: { fileName: 'a.txt', content: Buffer.from('embedded') },
            file,
          }),
        )
        expect(text((await files().find())[0]!.data)).toBe('one')
        expect(text((await files().findOneOrFail({ where: { name: 'l1' } })).data)).toBe('one')
        expect(text((await files().createQueryBuilder('f').getMany())[0]!.data)).toBe('one')
        expect(
          text(
            (await files().createQueryBuilder('f').where('f.name = :n', { n: 'l1' }).getOneOrFail())
              .data,
          ),
        ).toBe('one')
        const joined = await world.dataSource
          .getRepository(Folder)
          .createQueryBuilder('folder')
          .leftJoinAndSelect('folder.files', 'file')
          .where('folder.id = :id', { id: folder.id })
          .getOneOrFail()
        expect(text(joined.files[0]!.data)).toBe('one')
        const message = await messages.findOneOrFail({ where: {} })
        expect(text(message.attachment.content)).toBe('embedded')
        expect(text(message.file?.data)).toBe('one') // eager relation
        expect(getStorageKey(message, 'attachment.content')).toEqual(expect.any(String))
        await expectConsistent()
      })

      it('a query that does not select the column downloads nothing', async () => {
        await newFile('ns.bin', Buffer.from('not selected'))
        world.main.resetCounts()
        const rows = await files().find({ select: { id: true, name: true } })
        expect(rows[0]!.data).toBeUndefined()
        await files().createQueryBuilder('f').select(['f.id', 'f.name']).getMany()
        expect(world.main.calls.read).toBe(0)
      })

      it("load: 'lazy' reads nothing for a thousand rows, and reads on demand", async () => {
        const lazy = world.dataSource.getRepository(LazyFile)
        await lazy.save(
          Array.from({ length: 1000 }, (_, position) =>
            lazy.create({ position, data: `row ${position}` }),
          ),
        )
        world.main.resetCounts()
        const rows = await lazy.find({ order: { position: 'ASC' } })
        expect(rows).toHaveLength(1000)
        expect(world.main.calls).toMatchObject({ read: 0, stat: 0, list: 0 })
        const handle = rows[42]!.data as StoredContent
        expect(handle).toBeInstanceOf(StoredContent)
        expect(String(await handle.buffer())).toBe('row 42')
        expect(
          String(await (await handle.stream({ start: 4, end: 5 })).toArray().then(Buffer.concat)),
        ).toBe('42')
        expect(await handle.size()).toBe(6)
        expect(world.main.calls.read).toBe(2)
      })

      it('an eager load of many rows downloads with bounded concurrency', async () => {
        await files().save(
          Array.from({ length: 40 }, (_, i) =>
            files().create({ name: `many-${i}`, data: `content ${i}` }),
          ),
        )
        let active = 0
        let peak = 0
        const open = world.main.open.bind(world.main)
        world.main.open = async (key, options) => {
          peak = Math.max(peak, ++active)
          try {
            await new Promise((resolve) => setTimeout(resolve, 5))
            // Counted until the body is consumed: the download holds its slot meanwhile.
            const opened = await open(key, options)
            return {
              ...opened,
              stream: Readable.from([Buffer.concat(await opened.stream.toArray())]),
            }
          } finally {
            active--
          }
        }
        const rows = await files().find({ order: { id: 'ASC' } })
        expect(rows.map((row) => text(row.data))).toEqual(
          Array.from({ length: 40 }, (_, i) => `content ${i}`),
        )
        expect(peak).toBeGreaterThan(1)
        expect(peak).toBeLessThanOrEqual(8)
      })

      it("load: 'none' leaves the key", async () => {
        const repository = world.dataSource.getRepository(KeyOnlyFile)
        const saved = await repository.save(repository.create({ data: Buffer.from('key only') }))
        const loaded = await repository.findOneByOrFail({ id: saved.id })
        expect(loaded.data).toBe(getStorageKey(saved, 'data'))
        world.main.resetCounts()
        await repository.save(loaded)
        expect(world.main.calls.write).toBe(0)
      })

      it('several stored attributes, each with its own storage', async () => {
        const documents = world.dataSource.getRepository(Document)
        const saved = await documents.save(
          documents.create({
            title: 'd',
            body: Buffer.from('body'),
            thumbnail: Buffer.from('thumb'),
          }),
        )
        expect(await storedKeys(world.main)).toEqual([getStorageKey(saved, 'body')])
        expect(await storedKeys(world.second)).toEqual([getStorageKey(saved, 'thumbnail')])
        const loaded = await documents.findOneByOrFail({ id: saved.id })
        expect(text(loaded.body)).toBe('body')
        expect(String(await (loaded.thumbnail as StoredContent).buffer())).toBe('thumb')
        await documents.remove(loaded)
        expect(await storedKeys(world.main)).toEqual([])
        expect(await storedKeys(world.second)).toEqual([])
      })
    })

    describe('failures', () => {
      it('storage down during a save: the save rejects and no row is written', async () => {
        world.main.failOn({ operation: 'write' })
        await expect(newFile('down.bin', Buffer.from('x'))).rejects.toBeInstanceOf(
          StorageUnavailableError,
        )
        expect(await files().count()).toBe(0)
        await expectConsistent()
      })

      it('the database rejects the row after the upload: the upload is deleted', async () => {
        await newFile('dup.bin', Buffer.from('first'))
        await expect(newFile('dup.bin', Buffer.from('second'))).rejects.toThrow()
        expect(await storedKeys(world.main)).toHaveLength(1)
        await expectConsistent()
        // And outside a transaction too.
        await expect(
          files().save(files().create({ name: 'dup.bin', data: 'third' }), { transaction: false }),
        ).rejects.toThrow()
        await expect(
          files().insert({ name: 'dup.bin', data: Buffer.from('fourth') }),
        ).rejects.toThrow()
        await expectConsistent()
      })

      it('a failed post-commit delete does not fail the commit; it is reported', async () => {
        const failures: CleanupFailure[] = []
        storageEvents(world.dataSource).on('cleanupFailed', (failure) => failures.push(failure))
        const file = await newFile('pc.bin', Buffer.from('v1'))
        const oldKey = getStorageKey(file, 'data')!
        world.main.failOn({ operation: 'delete' })
        file.data = Buffer.from('v2')
        await files().save(file)
        expect(failures).toHaveLength(1)
        expect(failures[0]).toMatchObject({ operation: 'delete-after-commit', key: oldKey })
        expect(text((await files().findOneByOrFail({ id: file.id })).data)).toBe('v2')
        // Left for garbage collection: the orphan is the old object, and only it.
        const referenced = await referencedKeys(world.dataSource, world.main)
        expect((await storedKeys(world.main)).filter((key) => !referenced.includes(key))).toEqual([
          oldKey,
        ])
      })

      it('a load whose object is missing names entity, attribute and key', async () => {
        const file = await newFile('missing.bin', Buffer.from('x'))
        const key = getStorageKey(file, 'data')!
        await world.main.delete(key)
        const error = await files()
          .findOneBy({ id: file.id })
          .catch((caught: unknown) => caught)
        expect(error).toBeInstanceOf(ObjectNotFoundError)
        expect((error as Error).message).toContain('File.data')
        expect((error as Error).message).toContain(key)
      })

      it('an attribute with no storage registered fails with a clear error', async () => {
        unsetStorage(world.dataSource, File, 'data')
        await expect(newFile('none.bin', Buffer.from('x'))).rejects.toThrow(
          /setStorage\(dataSource, File, 'data'/,
        )
      })
    })
  })
}
