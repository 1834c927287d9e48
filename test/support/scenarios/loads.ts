/** Loads: eager, lazy and key-only attributes, relations, queries that do not select the column. */
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { getStorageKey, StoredContent } from '@attrstore/typeorm'
import { Document, Folder, KeyOnlyFile, LazyFile, Message } from '../entities.js'
import { storedKeys, text } from '../environment.js'
import type { WorldContext } from '../world-per-test.js'

export function loadScenarios(t: WorldContext): void {
  describe('loads', () => {
    it('find, findOne, QueryBuilder getMany/getOne, and relations eager and joined', async () => {
      const folder = await t.world.dataSource
        .getRepository(Folder)
        .save({ name: 'f', files: [t.files().create({ name: 'l1', data: Buffer.from('one') })] })
      const messages = t.world.dataSource.getRepository(Message)
      const file = await t.files().findOneByOrFail({ name: 'l1' })
      await messages.save(
        messages.create({
          attachment: { fileName: 'a.txt', content: Buffer.from('embedded') },
          file,
        }),
      )
      expect(text((await t.files().find())[0]!.data)).toBe('one')
      expect(text((await t.files().findOneOrFail({ where: { name: 'l1' } })).data)).toBe('one')
      expect(text((await t.files().createQueryBuilder('f').getMany())[0]!.data)).toBe('one')
      expect(
        text(
          (await t.files().createQueryBuilder('f').where('f.name = :n', { n: 'l1' }).getOneOrFail())
            .data,
        ),
      ).toBe('one')
      const joined = await t.world.dataSource
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
      await t.expectConsistent()
    })

    it('a query that does not select the column downloads nothing', async () => {
      await t.newFile('ns.bin', Buffer.from('not selected'))
      t.world.main.resetCounts()
      const rows = await t.files().find({ select: { id: true, name: true } })
      expect(rows[0]!.data).toBeUndefined()
      await t.files().createQueryBuilder('f').select(['f.id', 'f.name']).getMany()
      expect(t.world.main.calls.read).toBe(0)
    })

    it("load: 'lazy' reads nothing for a thousand rows, and reads on demand", async () => {
      const lazy = t.world.dataSource.getRepository(LazyFile)
      await lazy.save(
        Array.from({ length: 1000 }, (_, position) =>
          lazy.create({ position, data: `row ${position}` }),
        ),
      )
      t.world.main.resetCounts()
      const rows = await lazy.find({ order: { position: 'ASC' } })
      expect(rows).toHaveLength(1000)
      expect(t.world.main.calls).toMatchObject({ read: 0, stat: 0, list: 0 })
      const handle = rows[42]!.data as StoredContent
      expect(handle).toBeInstanceOf(StoredContent)
      expect(String(await handle.buffer())).toBe('row 42')
      expect(
        String(await (await handle.stream({ start: 4, end: 5 })).toArray().then(Buffer.concat)),
      ).toBe('42')
      expect(await handle.size()).toBe(6)
      expect(t.world.main.calls.read).toBe(2)
    })

    it('an eager load of many rows downloads with bounded concurrency', async () => {
      await t
        .files()
        .save(
          Array.from({ length: 40 }, (_, i) =>
            t.files().create({ name: `many-${i}`, data: `content ${i}` }),
          ),
        )
      let active = 0
      let peak = 0
      const open = t.world.main.open.bind(t.world.main)
      t.world.main.open = async (key, options) => {
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
      const rows = await t.files().find({ order: { id: 'ASC' } })
      expect(rows.map((row) => text(row.data))).toEqual(
        Array.from({ length: 40 }, (_, i) => `content ${i}`),
      )
      expect(peak).toBeGreaterThan(1)
      expect(peak).toBeLessThanOrEqual(8)
    })

    it("load: 'none' leaves the key", async () => {
      const repository = t.world.dataSource.getRepository(KeyOnlyFile)
      const saved = await repository.save(repository.create({ data: Buffer.from('key only') }))
      const loaded = await repository.findOneByOrFail({ id: saved.id })
      expect(loaded.data).toBe(getStorageKey(saved, 'data'))
      t.world.main.resetCounts()
      await repository.save(loaded)
      expect(t.world.main.calls.write).toBe(0)
    })

    it('several stored attributes, each with its own storage', async () => {
      const documents = t.world.dataSource.getRepository(Document)
      const saved = await documents.save(
        documents.create({
          title: 'd',
          body: Buffer.from('body'),
          thumbnail: Buffer.from('thumb'),
        }),
      )
      expect(await storedKeys(t.world.main)).toEqual([getStorageKey(saved, 'body')])
      expect(await storedKeys(t.world.second)).toEqual([getStorageKey(saved, 'thumbnail')])
      const loaded = await documents.findOneByOrFail({ id: saved.id })
      expect(text(loaded.body)).toBe('body')
      expect(String(await (loaded.thumbnail as StoredContent).buffer())).toBe('thumb')
      await documents.remove(loaded)
      expect(await storedKeys(t.world.main)).toEqual([])
      expect(await storedKeys(t.world.second)).toEqual([])
    })
  })
}
