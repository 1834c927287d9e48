/**
 * `@StoredAttribute({ maxSize, accept, sniff })` on every write path, on SQLite and
 * PostgreSQL, with filesystem and S3 storages: a refused body fails the save with a
 * `ValidationError` naming the rule, stores nothing, writes no row, and leaves the value
 * an update would have replaced untouched.
 */
import 'reflect-metadata'
import { Readable } from 'node:stream'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { Column, Entity, PrimaryGeneratedColumn, type Repository } from 'typeorm'
import {
  existingObject,
  StorageUnavailableError,
  ValidationError,
  type WriteOptions,
} from '@attrstore/core'
import { getStorageKey, StoredAttribute } from '@attrstore/typeorm'
import { InstrumentedStorage } from '@attrstore/testing'
import {
  createWorld,
  startDatabaseServer,
  startStorageServer,
  storedKeys,
  type DatabaseServer,
  type StorageServer,
  type World,
} from '@attrstore/testing/world'

const MAX_SIZE = 64 * 1024

@Entity()
class ValidatedUpload {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar' }) name!: string
  @Column({ type: 'varchar', nullable: true }) mimeType!: string | null
  @StoredAttribute<ValidatedUpload>({
    maxSize: MAX_SIZE,
    accept: 'application/pdf',
    fileName: (upload) => upload.name,
  })
  scan!: unknown
  @StoredAttribute<ValidatedUpload>({
    accept: 'image/*',
    contentType: (upload) => upload.mimeType,
    fileName: (upload) => upload.name,
  })
  picture!: unknown
}

/** A 1×1 PNG. */
const PNG = Buffer.from(
  'iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNkYPhfDwAChwGA60e6kgAAAABJRU5ErkJggg==',
  'base64',
)
const PDF = Buffer.from('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << >>\n%%EOF\n')
const HTML = Buffer.from('<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>')

/** The same bytes as each body kind a save may be given. */
const BODY_KINDS = [
  ['Buffer', (bytes: Buffer): unknown => bytes],
  ['stream', (bytes: Buffer): unknown => Readable.from([bytes.subarray(0, 7), bytes.subarray(7)])],
] as const

/** An endless PDF-looking stream of 1 KiB chunks that counts what was pulled from it. */
function endlessPdf(): { body: AsyncIterable<Uint8Array>; pulled(): number } {
  let pulled = 0
  const body = (async function* () {
    pulled += PDF.length
    yield PDF
    for (;;) {
      pulled += 1024
      yield Buffer.alloc(1024, 0x20)
    }
  })()
  return { body, pulled: () => pulled }
}

for (const databaseKind of ['sqlite', 'postgres'] as const) {
  describe(`content rules on ${databaseKind}`, () => {
    let database: DatabaseServer
    beforeAll(async () => {
      database = await startDatabaseServer(databaseKind)
    })
    afterAll(async () => {
      await database?.stop()
    })

    for (const storageKind of ['fs', 's3'] as const) {
      describe(`with ${storageKind} storage`, () => {
        let storages: StorageServer
        let world: World<{ main: InstrumentedStorage }>
        let main: InstrumentedStorage
        const uploads = (): Repository<ValidatedUpload> =>
          world.dataSource.getRepository(ValidatedUpload)
        const save = (fields: Partial<ValidatedUpload>): Promise<ValidatedUpload> =>
          uploads().save(uploads().create({ name: 'upload', mimeType: null, ...fields }))

        beforeAll(async () => {
          storages = await startStorageServer(storageKind)
        })
        afterAll(async () => {
          await storages?.stop()
        })
        beforeEach(async () => {
          main = new InstrumentedStorage(await storages.create())
          world = await createWorld(database, {
            entities: [ValidatedUpload],
            storages: { main },
            attributes: [
              { entity: ValidatedUpload, attribute: 'scan', storage: 'main' },
              { entity: ValidatedUpload, attribute: 'picture', storage: 'main' },
            ],
          })
        })
        afterEach(async () => {
          await world?.destroy()
        })

        /** The save fails with a ValidationError; nothing is stored and no row written. */
        async function expectRefused(
          saving: Promise<unknown>,
          fields: Partial<ValidationError>,
          before: string[] = [],
        ): Promise<ValidationError> {
          const error = await saving.then(
            () => undefined,
            (caught: unknown) => caught,
          )
          expect(error).toBeInstanceOf(ValidationError)
          expect(error).toMatchObject({ entity: 'ValidatedUpload', ...fields })
          expect((error as Error).message).toContain(`ValidatedUpload.${fields.attribute}:`)
          expect(await storedKeys(main)).toEqual(before)
          expect(await uploads().count()).toBe(0)
          return error as ValidationError
        }

        describe.each(BODY_KINDS)('a %s body', (_kind, bodyOf) => {
          it('over maxSize is refused', async () => {
            const bytes = Buffer.concat([PDF, Buffer.alloc(MAX_SIZE, 0x20)])
            await expectRefused(save({ name: 'big.pdf', scan: bodyOf(bytes) }), {
              attribute: 'scan',
              rule: 'maxSize',
              expected: MAX_SIZE,
            })
          })

          it('of a PNG named .pdf is refused by its bytes, before any upload', async () => {
            await expectRefused(save({ name: 'scan.pdf', scan: bodyOf(PNG) }), {
              attribute: 'scan',
              rule: 'accept',
              expected: ['application/pdf'],
              actual: 'image/png',
            })
            expect(main.calls.write).toBe(0)
          })

          it('of an HTML page declared image/png is refused', async () => {
            await expectRefused(
              save({ name: 'avatar.png', mimeType: 'image/png', picture: bodyOf(HTML) }),
              { attribute: 'picture', rule: 'accept', expected: ['image/*'], actual: 'text/html' },
            )
            expect(main.calls.write).toBe(0)
          })

          it('that is empty is refused', async () => {
            await expectRefused(save({ name: 'empty.png', picture: bodyOf(Buffer.alloc(0)) }), {
              attribute: 'picture',
              rule: 'empty',
              actual: 0,
            })
            expect(main.calls.write).toBe(0)
          })

          it('refused on an update leaves the stored value untouched', async () => {
            const saved = await save({ name: 'scan.pdf', scan: PDF })
            const key = getStorageKey(saved, 'scan')!
            saved.scan = bodyOf(PNG)
            await expect(uploads().save(saved)).rejects.toMatchObject({ rule: 'accept' })
            saved.scan = bodyOf(Buffer.concat([PDF, Buffer.alloc(MAX_SIZE)]))
            await expect(uploads().save(saved)).rejects.toMatchObject({ rule: 'maxSize' })
            expect(await storedKeys(main)).toEqual([key])
            const reloaded = await uploads().findOneByOrFail({ id: saved.id })
            expect(getStorageKey(reloaded, 'scan')).toBe(key)
            expect(reloaded.scan).toEqual(PDF)
          })

          it('that is accepted is stored, with the sniffed type when none is declared', async () => {
            const recorded: Array<string | undefined> = []
            const write = main.write.bind(main)
            main.write = (body, options?: WriteOptions) => {
              recorded.push(options?.contentType)
              return write(body, options)
            }
            const saved = await save({ name: 'photo', scan: bodyOf(PDF), picture: bodyOf(PNG) })
            expect(recorded.sort()).toEqual(['application/pdf', 'image/png'])
            const reloaded = await uploads().findOneByOrFail({ id: saved.id })
            expect(reloaded.scan).toEqual(PDF)
            expect(reloaded.picture).toEqual(PNG)
          })
        })

        it('an endless stream is stopped once past maxSize', async () => {
          const source = endlessPdf()
          await expectRefused(save({ name: 'endless.pdf', scan: source.body }), {
            attribute: 'scan',
            rule: 'maxSize',
            expected: MAX_SIZE,
          })
          expect(source.pulled()).toBeGreaterThan(MAX_SIZE)
          expect(source.pulled()).toBeLessThanOrEqual(MAX_SIZE + 1024)
        })

        it("a storage that wraps the stream's error in its own: the rule broken is still told", async () => {
          const write = main.write.bind(main)
          main.write = async (body, options?: WriteOptions) => {
            try {
              return await write(body, options)
            } catch (error) {
              throw new StorageUnavailableError('upload failed', { cause: error })
            }
          }
          await expectRefused(save({ name: 'endless.pdf', scan: endlessPdf().body }), {
            attribute: 'scan',
            rule: 'maxSize',
          })
        })

        it('a web stream is checked like a Node stream', async () => {
          await expectRefused(save({ name: 'scan.pdf', scan: new Blob([PNG]).stream() }), {
            attribute: 'scan',
            rule: 'accept',
            actual: 'image/png',
          })
          await expectRefused(
            save({ name: 'big.pdf', scan: new Blob([PDF, Buffer.alloc(MAX_SIZE)]) }),
            {
              attribute: 'scan',
              rule: 'maxSize',
            },
          )
        })

        it('an import is checked on the stored object: refused, the object is left as it was', async () => {
          const html = await main.write(HTML)
          const big = await main.write(Buffer.concat([PDF, Buffer.alloc(MAX_SIZE)]))
          const before = [html.key, big.key].sort()
          await expectRefused(
            save({ name: 'avatar.png', picture: existingObject(html.key) }),
            { attribute: 'picture', rule: 'accept', actual: 'text/html' },
            before,
          )
          await expectRefused(
            save({ name: 'big.pdf', scan: existingObject(big.key) }),
            { attribute: 'scan', rule: 'maxSize', actual: PDF.length + MAX_SIZE },
            before,
          )
          const png = await main.write(PNG)
          const saved = await save({ name: 'avatar.png', picture: existingObject(png.key) })
          expect(getStorageKey(saved, 'picture')).toBe(png.key)
        })
      })
    }
  })
}
