/**
 * Regression tests from an adversarial review of the TypeORM integration and the core:
 * each once demonstrated a bug (orphans, data loss, wrong entity state, a pool deadlock,
 * leaked streams) and now guards its fix.
 */
import { createReadStream } from 'node:fs'
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { describe, it, expect } from 'vitest'
import { DataSource, type DataSourceOptions } from 'typeorm'

type PostgresConnectionOptions = DataSourceOptions & { url?: string }
import { existingObject, InvalidBodyError, MemoryStorage } from '@attrstore/core'
import { InstrumentedStorage } from '@attrstore/testing'
import { getStorageKey, setStorage, StoredContent } from '@attrstore/typeorm'
import { Document, File, LazyFile } from '../support/entities.js'
import { delayWrites, failingBody, gate, sleep } from '../support/controlled-bodies.js'
import { describeOnEachDatabase } from '../support/each-database.js'
import { storedKeys, text } from '../support/environment.js'

describeOnEachDatabase('regression: orphans', (t) => {
  it('update(criteria) that matches no row leaves no object behind', async () => {
    await t.files().update({ name: 'no such row' }, { data: Buffer.from('nobody') })
    await t.expectConsistent()
    await t.world.dataSource.transaction((manager) =>
      manager.update(File, { id: 4242 }, { data: Buffer.from('nobody either') }),
    )
    await t.expectConsistent()
  })

  it('insert() of several rows where one upload fails: no object left, first entity given back its value', async () => {
    const good = { name: 'good.bin', data: Buffer.from('good') as unknown }
    const bad = { name: 'bad.bin', data: failingBody(100) as unknown } // fails after good's upload
    await expect(t.files().insert([good, bad] as never)).rejects.toThrow('body failed on purpose')
    await sleep(200)
    expect(await t.files().count()).toBe(0)
    expect.soft(await t.orphans()).toEqual([])
    expect.soft(good.data).toEqual(Buffer.from('good')) // not the storage key
  })

  it('save() in a transaction where one upload fails while another is still in flight', async () => {
    const slow = gate()
    const good = t.files().create({ name: 'slow.bin', data: Buffer.from('slow but fine') })
    const bad = t.files().create({ name: 'bad.bin', data: failingBody() })
    delayWrites(t.world.main, (entity) => entity === good, slow.opened)
    setTimeout(() => slow.open(), 200) // the good upload finishes after the bad one failed
    await expect(t.files().save([good, bad])).rejects.toThrow('body failed on purpose')
    await sleep(300)
    expect(await t.files().count()).toBe(0)
    expect.soft(await t.orphans()).toEqual([])
    expect.soft(good.data).toEqual(Buffer.from('slow but fine')) // the user's value, not a key string
  })

  it('one entity, two stored attributes: a failed thumbnail upload does not orphan the body', async () => {
    const documents = t.world.dataSource.getRepository(Document)
    const slow = gate()
    delayWrites(t.world.main, () => true, slow.opened) // Document.body lives in main
    const document = documents.create({
      title: 'two',
      body: Buffer.from('body'),
      thumbnail: failingBody(),
    })
    setTimeout(() => slow.open(), 200)
    await expect(documents.save(document)).rejects.toThrow('body failed on purpose')
    await sleep(300)
    expect(await documents.count()).toBe(0)
    expect.soft(await storedKeys(t.world.main)).toEqual([])
    expect.soft(document.body).toEqual(Buffer.from('body'))
  })

  it('a failed statement caught inside a transaction, then commit: its upload is deleted and the entity given back its value', async () => {
    await t.files().save(t.files().create({ name: 'taken.bin', data: 'first' }))
    const clash = t.files().create({ name: 'taken.bin', data: Buffer.from('clash') })
    await t.world.dataSource
      .transaction(async (manager) => {
        await manager.save(manager.create(File, { name: 'ok.bin', data: 'ok' }))
        await manager.save(clash).catch(() => undefined) // unique violation, caught
      })
      .catch(() => undefined) // PostgreSQL may refuse the commit of an aborted transaction
    expect.soft(await t.orphans()).toEqual([])
    expect.soft(clash.data).toEqual(Buffer.from('clash')) // not the key of a deleted or orphaned upload
    expect.soft(getStorageKey(clash, 'data')).toBeUndefined()
  })
})

describeOnEachDatabase('regression: entity state', (t) => {
  it('re-importing the object a row already references leaves a content handle, not the raw key', async () => {
    const file = await t.files().save(t.files().create({ name: 'same.bin', data: 'same' }))
    const key = getStorageKey(file, 'data')!
    file.data = existingObject(key)
    await t.files().save(file)
    expect(file.data).toBeInstanceOf(StoredContent)
    expect(getStorageKey(file, 'data')).toBe(key)
  })

  it('a streamed body given back after a failed save is not silently stored empty on retry', async () => {
    await t.files().save(t.files().create({ name: 'taken.bin', data: 'first' }))
    const body = (async function* () {
      yield Buffer.from('streamed payload')
    })()
    const file = t.files().create({ name: 'taken.bin', data: body })
    await expect(t.files().save(file)).rejects.toThrow() // unique violation, rolled back
    expect(file.data).toBe(body) // documented: the user's value is given back
    file.name = 'free.bin'
    const retried = await t
      .files()
      .save(file)
      .then(
        () => 'saved',
        (error: unknown) => error,
      )
    if (retried === 'saved') {
      // If the retry is accepted, it must store the content, not an empty object.
      const loaded = await t.files().findOneByOrFail({ name: 'free.bin' })
      expect(text(loaded.data)).toBe('streamed payload')
    } else {
      expect(retried).toBeInstanceOf(Error)
    }
  })
})

describeOnEachDatabase(
  'regression: concurrent transactions (PostgreSQL pool)',
  (t) => {
    it('an import committed while another transaction removes the original row keeps the object', async () => {
      const original = await t.files().save(t.files().create({ name: 'orig.bin', data: 'shared' }))
      const key = getStorageKey(original, 'data')!
      const runner = t.world.dataSource.createQueryRunner()
      await runner.connect()
      try {
        await runner.startTransaction()
        await runner.manager.save(
          runner.manager.create(File, { name: 'copy.bin', data: existingObject(key) }),
        )
        // Another connection removes the original row: it waits for the import's row lock,
        // commits after it, and must then keep the object the copy references.
        const removal = t.files().remove(original)
        await new Promise((resolve) => setTimeout(resolve, 200))
        await runner.commitTransaction()
        await removal
      } finally {
        await runner.release()
      }
      expect(await t.missing()).toEqual([]) // the committed copy.bin row references `key`
      expect(text((await t.files().findOneByOrFail({ name: 'copy.bin' })).data)).toBe('shared')
    })
  },
  ['postgres'],
)

describeOnEachDatabase(
  'regression: PostgreSQL connection pool',
  (t) => {
    /** A DataSource on a new database of the same server, with its own pool options. */
    async function pooled(poolSize?: number): Promise<DataSource> {
      const base = await t.database.dataSource()
      const dataSource = new DataSource({
        ...base.options,
        ...(poolSize ? { poolSize } : {}),
      } as DataSourceOptions)
      setStorage(dataSource, File, 'data', t.world.main)
      await dataSource.initialize()
      return dataSource
    }

    /** Resolves 'done' or, if `work` is stuck, 'hung' after `ms`; then frees the stuck connections. */
    async function finishes(
      dataSource: DataSource,
      work: Promise<unknown>,
      ms: number,
    ): Promise<string> {
      const outcome = await Promise.race([work.then(() => 'done'), sleep(ms).then(() => 'hung')])
      if (outcome === 'hung') {
        const database = new URL(
          (dataSource.options as PostgresConnectionOptions).url!,
        ).pathname.slice(1)
        await t.world.dataSource.query(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1',
          [database],
        )
        await work.catch(() => undefined)
      }
      await Promise.race([dataSource.destroy().catch(() => undefined), sleep(2000)])
      return outcome
    }

    it('replacing a stored attribute with poolSize: 1 completes (post-commit check needs no second connection)', async () => {
      const dataSource = await pooled(1)
      const files = dataSource.getRepository(File)
      const file = await files.save(files.create({ name: 'p1.bin', data: 'v1' }))
      file.data = Buffer.from('v2')
      expect(await finishes(dataSource, files.save(file), 5000)).toBe('done')
    })

    it('more concurrent replacing saves than the default pool size complete', async () => {
      const dataSource = await pooled()
      const files = dataSource.getRepository(File)
      const saved = await files.save(
        Array.from({ length: 15 }, (_, i) => files.create({ name: `c${i}.bin`, data: `v1 ${i}` })),
      )
      for (const file of saved) file.data = Buffer.from(`v2 ${file.name}`)
      const work = Promise.all(saved.map((file) => files.save(file)))
      expect(await finishes(dataSource, work, 10_000)).toBe('done')
    })
  },
  ['postgres'],
)

describeOnEachDatabase('regression: storages that are the same place', (t) => {
  it('two storage objects on one root: removing the original of an imported object keeps it', async () => {
    // Two instances on the same root, as `setStorage(ds, A, 'data', new XStorage(sameConfig))`
    // twice would make: the import succeeds (the key exists there), so the key is shared.
    const alias = new InstrumentedStorage(t.world.main.inner)
    setStorage(t.world.dataSource, LazyFile, 'data', alias)
    const original = await t.files().save(t.files().create({ name: 'o.bin', data: 'shared' }))
    const key = getStorageKey(original, 'data')!
    const lazy = t.world.dataSource.getRepository(LazyFile)
    const copy = await lazy.save(lazy.create({ position: 1, data: existingObject(key) }))
    expect(getStorageKey(copy, 'data')).toBe(key) // imported, not copied
    await t.files().remove(original)
    const loaded = await lazy.findOneByOrFail({ id: copy.id })
    expect(String(await (loaded.data as StoredContent).buffer())).toBe('shared')
  })
})

describeOnEachDatabase(
  'regression: set-up',
  (t) => {
    it('a bad setStorage() made before initialize() does not silently drop the good ones made with it', async () => {
      const dataSource = await t.database.dataSource()
      setStorage(dataSource, File, 'nope', t.world.main) // a typo: not a stored attribute
      setStorage(dataSource, File, 'data', t.world.main)
      await dataSource.initialize()
      try {
        const files = dataSource.getRepository(File)
        // The typo may fail something once (ConfigurationError)...
        await files.save(files.create({ name: 'first.bin', data: 'x' })).catch(() => undefined)
        // ...but File.data was registered and must keep working.
        const saved = await files.save(files.create({ name: 'second.bin', data: 'y' }))
        expect(typeof getStorageKey(saved, 'data')).toBe('string')
      } finally {
        await dataSource.destroy()
      }
    })

    it('setStorage() after initialize() survives a destroy() and initialize() of the DataSource', async () => {
      const dataSource = await t.database.dataSource()
      await dataSource.initialize()
      setStorage(dataSource, File, 'data', t.world.main)
      await dataSource.destroy()
      await dataSource.initialize()
      try {
        const files = dataSource.getRepository(File)
        const saved = await files.save(
          files.create({ name: 'again.bin', data: Buffer.from('bytes') }),
        )
        const [row] = await dataSource.query(`SELECT data FROM file WHERE id = ${saved.id}`)
        expect(typeof row.data).toBe('string') // a key, not the bytes
        expect(await storedKeys(t.world.main)).toHaveLength(1)
      } finally {
        await dataSource.destroy()
      }
    })
  },
  ['sqlite'],
)

describe('regression: core BaseStorage.write', () => {
  it('a streamed body is released when the write fails before reading it (key generator throws)', async () => {
    const storage = new MemoryStorage({
      keyGenerator: () => {
        throw new Error('no key today')
      },
    })
    const directory = await mkdtemp(path.join(tmpdir(), 'attrstore-review-'))
    const file = path.join(directory, 'body.bin')
    await writeFile(file, 'body')
    const body = createReadStream(file)
    try {
      await expect(storage.write(body)).rejects.toThrow('no key today')
      await sleep(50)
      expect(body.destroyed).toBe(true) // else its file descriptor stays open
    } finally {
      body.destroy()
      await rm(directory, { recursive: true, force: true })
    }
  })

  it('a streamed body is released when options are refused (bad sha256)', async () => {
    const body = Readable.from([Buffer.from('body')])
    await expect(new MemoryStorage().write(body, { sha256: 'nope' })).rejects.toBeInstanceOf(
      InvalidBodyError,
    )
    expect(body.destroyed).toBe(true)
  })

  it('a bytes write aborted while in progress rejects and keeps nothing (contract: WriteOptions.signal)', async () => {
    const storage = new MemoryStorage()
    const controller = new AbortController()
    const writing = storage.write(Buffer.from('abort me'), { signal: controller.signal })
    controller.abort()
    const outcome = await writing.then(
      () => 'stored',
      (error: unknown) => error,
    )
    expect(outcome).toBeInstanceOf(Error)
    expect(storage.size).toBe(0)
  })
})

describeOnEachDatabase(
  'regression: SQLite shares one query runner between concurrent operations',
  (t) => {
    it("an unrelated failing statement does not delete another operation's in-flight upload", async () => {
      await t.files().save(t.files().create({ name: 'taken.bin', data: 'first' }))
      const slow = gate()
      const a = { name: 'a.bin', data: Buffer.from('a content') as unknown }
      const b = { name: 'b.bin', data: Buffer.from('b content') as unknown }
      delayWrites(t.world.main, (entity) => entity === b, slow.opened)
      const inserting = t.files().insert([a, b] as never) // a uploaded, b waits
      await sleep(200)
      // Another request's statement fails meanwhile (a unique violation).
      await t.world.dataSource
        .query(`INSERT INTO file (name, "mimeType") VALUES ('taken.bin', 'x')`)
        .catch(() => undefined)
      slow.open()
      await inserting
      const [row] = await t.world.dataSource.query(`SELECT data FROM file WHERE name = 'a.bin'`)
      expect.soft(typeof row.data).toBe('string') // a key, not the bytes written into the column
      expect.soft(await t.missing()).toEqual([])
      expect.soft(text((await t.files().findOneByOrFail({ name: 'a.bin' })).data)).toBe('a content')
    })
  },
  ['sqlite'],
)
