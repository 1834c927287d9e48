/**
 * `stageUpload`: a body written to the attribute's storage before the transaction, then
 * saved as the unit of work's own upload. On SQLite and PostgreSQL, with filesystem and
 * S3 (fauxqs) storages: the save references the staged key with the SHA-256 the storage
 * recorded and makes no storage call (no HEAD, no existence check), a rollback deletes the
 * object, a body the content rules refuse stores nothing, a handle is saved once (a second
 * save, after commit, after rollback, or concurrently, is refused with UploadClaimError),
 * and no connection is held in a transaction while the body is staged.
 */
import 'reflect-metadata'
import { createHash } from 'node:crypto'
import { PassThrough } from 'node:stream'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Column, Entity, PrimaryGeneratedColumn, type DataSource, type Repository } from 'typeorm'
import { existingObject, UploadClaimError, ValidationError } from '@attrstore/core'
import {
  StagedUpload,
  stageUpload,
  StoredAttribute,
  StoredContent,
  type StageOptions,
} from '@attrstore/typeorm'
import { InstrumentedStorage } from '@attrstore/testing'
import {
  createWorld,
  referencedKeys,
  startDatabaseServer,
  startStorageServer,
  storedKeys,
  type DatabaseServer,
  type StorageServer,
  type World,
} from '@attrstore/testing/world'

const MAX_SIZE = 64 * 1024

@Entity()
class StagedFile {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar' }) name!: string
  @StoredAttribute({ load: 'lazy', nullable: true }) data!: unknown
  @StoredAttribute({ load: 'lazy', nullable: true, maxSize: MAX_SIZE, accept: 'application/pdf' })
  scan!: unknown
}

const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n')
const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

/** The refusal a promise rejects with (fails the test when it resolves). */
async function refusal(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => expect.unreachable('it was not refused'),
    (error: unknown) => error,
  )
}

for (const databaseKind of ['sqlite', 'postgres'] as const) {
  describe(`staged uploads on ${databaseKind}`, () => {
    let database: DatabaseServer
    beforeAll(async () => {
      database = await startDatabaseServer(databaseKind)
    }, 120_000)
    afterAll(async () => {
      await database?.stop()
    })

    for (const storageKind of ['fs', 's3'] as const) {
      describe(`with ${storageKind} storage`, () => {
        let storages: StorageServer
        let world: World<{ main: InstrumentedStorage; other: InstrumentedStorage }>
        let main: InstrumentedStorage
        const files = (): Repository<StagedFile> => world.dataSource.getRepository(StagedFile)
        const stage = (body: unknown, attribute = 'data', options?: StageOptions) =>
          stageUpload(world.dataSource, StagedFile, attribute, body as Buffer, options)

        beforeAll(async () => {
          storages = await startStorageServer(storageKind)
        }, 120_000)
        afterAll(async () => {
          await storages?.stop()
        })
        beforeEach(async () => {
          main = new InstrumentedStorage(await storages.create())
          world = await createWorld(database, {
            entities: [StagedFile],
            storages: { main, other: new InstrumentedStorage(await storages.create()) },
            attributes: [
              { entity: StagedFile, attribute: 'data', storage: 'main' },
              { entity: StagedFile, attribute: 'scan', storage: 'main' },
            ],
          })
        })
        afterEach(async () => {
          await world?.destroy()
        })

        it('a save references the staged key, with its SHA-256, and calls the storage not at all', async () => {
          const body = Buffer.from('staged before the transaction')
          const staged = await stage(body, 'data', { contentType: 'text/plain' })
          expect(staged).toBeInstanceOf(StagedUpload)
          expect(staged.sha256).toBe(sha256(body))
          expect(staged.size).toBe(body.length)
          expect(main.calls.write).toBe(1)
          main.resetCounts()

          const saved = await files().save(files().create({ name: 'a', data: staged }))
          expect(main.calls).toEqual({
            write: 0,
            read: 0,
            stat: 0,
            delete: 0,
            list: 0,
            verify: 0,
          })
          expect(staged.state).toBe('saved')
          expect(saved.data).toBeInstanceOf(StoredContent)
          expect((saved.data as StoredContent).key).toBe(staged.key)
          expect((saved.data as StoredContent).sha256).toBe(sha256(body))
          expect((await main.stat(staged.key)).sha256).toBe(sha256(body))
          const loaded = await files().findOneByOrFail({ id: saved.id })
          expect((loaded.data as StoredContent).key).toBe(staged.key)
          expect(await (loaded.data as StoredContent).buffer()).toEqual(body)
          expect(await storedKeys(main)).toEqual([staged.key])
        })

        it('the same object saved as existingObject(key) costs existence checks (what staging spares)', async () => {
          const { key } = await main.write(Buffer.from('written first'))
          main.resetCounts()
          await files().save(files().create({ name: 'imported', data: existingObject(key) }))
          expect(main.calls.stat).toBeGreaterThan(0)
        })

        it('a rollback deletes the staged object', async () => {
          const staged = await stage(Buffer.from('rolled back'))
          const error = await refusal(
            world.dataSource.transaction(async (manager) => {
              await manager.save(manager.create(StagedFile, { name: 'b', data: staged }))
              throw new Error('abort the transaction')
            }),
          )
          expect((error as Error).message).toBe('abort the transaction')
          expect(staged.state).toBe('deleted')
          expect(await main.exists(staged.key)).toBe(false)
          expect(await files().count()).toBe(0)
          // Spent: a retry must stage the content again.
          const retry = await refusal(files().save(files().create({ name: 'b', data: staged })))
          expect(retry).toBeInstanceOf(UploadClaimError)
          expect((retry as UploadClaimError).reason).toBe('missing')
          expect(await storedKeys(main)).toEqual([])
        })

        it('a body the content rules refuse is not stored', async () => {
          const tooLarge = Buffer.concat([PDF, Buffer.alloc(MAX_SIZE, 0x20)])
          const oversize = await refusal(stage(tooLarge, 'scan'))
          expect(oversize).toBeInstanceOf(ValidationError)
          expect(oversize).toMatchObject({
            entity: 'StagedFile',
            attribute: 'scan',
            rule: 'maxSize',
          })
          const stream = new PassThrough()
          stream.end(Buffer.from('plain text, not a PDF'))
          const wrongType = await refusal(stage(stream, 'scan'))
          expect(wrongType).toBeInstanceOf(ValidationError)
          expect(wrongType).toMatchObject({ rule: 'accept' })
          expect(await storedKeys(main)).toEqual([])
          const accepted = await stage(PDF, 'scan')
          expect(await storedKeys(main)).toEqual([accepted.key])
        })

        it('a handle is saved once: a second save is refused and references nothing', async () => {
          const staged = await stage(Buffer.from('once'))
          const first = await files().save(files().create({ name: 'first', data: staged }))
          const error = await refusal(
            files().save(files().create({ name: 'second', data: staged })),
          )
          expect(error).toBeInstanceOf(UploadClaimError)
          expect((error as UploadClaimError).reason).toBe('claimed')
          expect(await files().count()).toBe(1)
          expect(await main.exists(staged.key)).toBe(true)
          expect(await referencedKeys(world.dataSource, main)).toEqual([staged.key])
          // The saved entity holds a plain handle: copying it to another row imports.
          const copy = await files().save(files().create({ name: 'copy', data: first.data }))
          expect((copy.data as StoredContent).key).toBe(staged.key)
        })

        it('a handle staged for another attribute or storage is refused', async () => {
          const forScan = await stage(PDF, 'scan')
          const error = await refusal(files().save(files().create({ name: 'x', data: forScan })))
          expect((error as UploadClaimError).reason).toBe('other-target')
          expect(forScan.state).toBe('staged')
          const elsewhere = new StagedUpload(
            'elsewhere',
            world.storages.other,
            { entity: 'StagedFile', attribute: 'data' },
            1,
            undefined,
          )
          const moved = await refusal(files().save(files().create({ name: 'y', data: elsewhere })))
          expect((moved as UploadClaimError).reason).toBe('other-target')
          expect(await files().count()).toBe(0)
        })

        it('two transactions saving one handle at once: exactly one commits', async () => {
          const staged = await stage(Buffer.from('contended'))
          let release!: () => void
          const held = new Promise<void>((resolve) => (release = resolve))
          const first = world.dataSource.transaction(async (manager) => {
            await manager.save(manager.create(StagedFile, { name: 'first', data: staged }))
            await held // the second save runs while this transaction is open
          })
          await expect.poll(() => staged.state, { timeout: 10_000 }).toBe('saving')
          const second = refusal(
            world.dataSource.transaction((manager) =>
              manager.save(manager.create(StagedFile, { name: 'second', data: staged })),
            ),
          )
          const error = await Promise.race([
            second,
            new Promise((resolve) => setTimeout(() => resolve('timeout'), 10_000)),
          ])
          release()
          await first
          expect(error).toBeInstanceOf(UploadClaimError)
          expect((error as UploadClaimError).reason).toBe('claim-in-progress')
          expect((await files().find()).map((file) => file.name)).toEqual(['first'])
          expect(await referencedKeys(world.dataSource, main)).toEqual([staged.key])
          expect(await main.exists(staged.key)).toBe(true)
        })

        it('never saved, it is an orphan until gc or discard()', async () => {
          const staged = await stage(Buffer.from('never saved'))
          expect(await storedKeys(main)).toEqual([staged.key])
          expect(await referencedKeys(world.dataSource, main)).toEqual([])
          expect(await staged.discard()).toBe(true)
          expect(staged.state).toBe('discarded')
          expect(await storedKeys(main)).toEqual([])
          const error = await refusal(files().save(files().create({ name: 'z', data: staged })))
          expect((error as UploadClaimError).reason).toBe('missing')
        })

        it('while the body is staged, no transaction is open', async () => {
          const body = new PassThrough()
          body.write(Buffer.alloc(1024, 1)) // then the stream stalls
          const staging = stage(body)
          await expect.poll(() => main.calls.write, { timeout: 10_000 }).toBe(1)
          // A transaction of its own runs to its end meanwhile. On SQLite that is all this
          // checks (TypeORM lets it run even beside an open one); PostgreSQL's sessions tell.
          const count = await Promise.race([
            world.dataSource.transaction((manager) => manager.count(StagedFile)),
            new Promise((resolve) => setTimeout(() => resolve('timeout'), 10_000)),
          ])
          expect(count).toBe(0)
          if (databaseKind === 'postgres') {
            expect(await openTransactions(world)).toBe(0)
            // The same stalled body given to save: its transaction stays open meanwhile.
            const inside = new PassThrough()
            inside.write(Buffer.alloc(1024, 2))
            const saving = files().save(files().create({ name: 'inside', data: inside }))
            await expect.poll(() => openTransactions(world), { timeout: 10_000 }).toBe(1)
            inside.end()
            await saving
          }
          body.end(Buffer.alloc(1024, 3))
          const staged = await staging
          expect(staged.size).toBe(2048)
        })
      })
    }
  })
}

/** PostgreSQL sessions of this database that sit in an open transaction. */
async function openTransactions(world: { dataSource: DataSource }): Promise<number> {
  const rows = (await world.dataSource.query(
    `SELECT count(*)::int AS open FROM pg_stat_activity
     WHERE datname = current_database() AND state LIKE 'idle in transaction%'`,
  )) as Array<{ open: number }>
  return rows[0]!.open
}
