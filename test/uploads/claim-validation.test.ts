/**
 * The content rules on the direct-upload path, on SQLite and PostgreSQL, with a filesystem
 * storage (uploads through @attrstore/http's endpoint) and S3 (a presigned POST to fauxqs):
 * a PNG renamed .pdf, an HTML page declared image/png, an empty body and a body over
 * maxSize are each refused (by the endpoint when it can tell, else at claim), a token is
 * refused for another attribute; no row is written, and an upload the store kept is left
 * to gc. The content-rules of the Buffer and stream paths are in
 * test/typeorm/content-rules.test.ts.
 */
import 'reflect-metadata'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Column, Entity, PrimaryGeneratedColumn, type DataSource } from 'typeorm'
import { UploadClaimError, type AttributeStorage, type UploadClaimRefusal } from '@attrstore/core'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { withUploadEndpoint, type UploadEndpointStorage } from '@attrstore/http'
import { S3Storage } from '@attrstore/s3'
import { startS3OrSkip } from '@attrstore/testing'
import { startDatabaseServer, type DatabaseServer } from '@attrstore/testing/world'
import {
  claimUpload,
  createUpload,
  setStorage,
  setUploadTokens,
  StoredAttribute,
  UploadTokens,
} from '@attrstore/typeorm'
import { png, SECRET, sendUpload, startCountingServer, type CountingServer } from './support.js'

const MAX_SIZE = 1000

@Entity()
class ClaimedDocument {
  @PrimaryGeneratedColumn() id!: number
  @Column({ type: 'varchar' }) name!: string
  @StoredAttribute<ClaimedDocument>({
    load: 'lazy',
    nullable: true,
    maxSize: MAX_SIZE,
    accept: 'application/pdf',
    fileName: (document) => document.name,
  })
  scan!: unknown
  @StoredAttribute({ load: 'lazy', nullable: true, accept: 'image/*' }) picture!: unknown
  @StoredAttribute({ load: 'lazy', nullable: true }) notes!: unknown
}

const PDF = (size: number) =>
  Buffer.concat([Buffer.from('%PDF-1.4\n'), Buffer.alloc(size - 9, 0x20)])
const HTML = Buffer.from('<!DOCTYPE html>\n<html><body><script>alert(1)</script></body></html>')

interface StorageUnderTest {
  storage: AttributeStorage
  /** What refuses a body whose type the upload named: the endpoint (fs) or only the claim. */
  refusesAtUpload: boolean
  stop(): Promise<void>
}

async function filesystem(): Promise<StorageUnderTest> {
  const root = await mkdtemp(path.join(tmpdir(), 'attrstore-claim-rules-'))
  // The endpoint's URL is the server's: the server is started first, and handles uploads
  // with the storage made once its URL is known.
  const handling: { storage?: UploadEndpointStorage } = {}
  const server: CountingServer = await startCountingServer((request, response) =>
    handling.storage!.handleUpload(request, response),
  )
  const storage = withUploadEndpoint(new BytesFileSystemStorage({ root }), {
    baseUrl: `${server.url}/uploads`,
    secret: SECRET,
  })
  handling.storage = storage
  return {
    storage,
    refusesAtUpload: true,
    async stop() {
      await server.close()
      await rm(root, { recursive: true, force: true })
    },
  }
}

const fauxqs = await startS3OrSkip({ engine: 'fauxqs', isolate: true })
afterAll(() => fauxqs.s3?.stop())

async function s3(database: string): Promise<StorageUnderTest> {
  const server = fauxqs.s3!
  const storage = new S3Storage({
    ...server.storageOptions,
    maxAttempts: 2,
    prefix: `claim-rules-${database}-${Date.now()}/`,
  })
  // fauxqs checks no POST policy (packages/s3/test/server-findings.ts): the store keeps
  // every body, and the claim is what refuses it.
  return { storage, refusesAtUpload: false, stop: () => storage.dispose() }
}

const STORAGES = {
  fs: { start: filesystem, skip: undefined },
  s3: { start: s3, skip: fauxqs.skip },
} as const

for (const databaseKind of ['sqlite', 'postgres'] as const) {
  for (const [storageKind, { start, skip }] of Object.entries(STORAGES)) {
    describe.skipIf(skip !== undefined)(
      `content rules at claim on ${databaseKind} with ${storageKind}${skip ? ` (skipped: ${skip})` : ''}`,
      () => {
        let databases: DatabaseServer
        let dataSource: DataSource
        let under: StorageUnderTest
        beforeAll(async () => {
          databases = await startDatabaseServer(databaseKind)
          under = await start(databaseKind)
          dataSource = await databases.createDataSource({ entities: [ClaimedDocument] })
          for (const attribute of ['scan', 'picture', 'notes'] as const)
            setStorage(dataSource, ClaimedDocument, attribute, under.storage)
          setUploadTokens(dataSource, new UploadTokens({ secret: SECRET }))
          await dataSource.initialize()
        }, 120_000)
        afterAll(async () => {
          await dataSource?.destroy()
          await under?.stop()
          await databases?.stop()
        })
        const documents = () => dataSource.getRepository(ClaimedDocument)

        /**
         * Uploads `body` for `attribute` and claims it into `claimedAs`: the claim must be
         * refused for `reason`, no row written; what the store kept stays for gc.
         */
        async function expectRefused(
          attribute: 'scan' | 'picture',
          body: Buffer,
          bodyType: string,
          reason: UploadClaimRefusal,
          options: { contentType?: string; fileName?: string; claimedAs?: 'notes' } = {},
        ): Promise<{ status: number | undefined; stored: boolean }> {
          const upload = await createUpload(dataSource, ClaimedDocument, attribute, {
            maxSize: 64 * 1024,
            ...(options.contentType ? { contentType: options.contentType } : {}),
            ...(options.fileName ? { fileName: options.fileName } : {}),
          })
          const sent = await sendUpload(upload, body, bodyType)
          const status = 'status' in sent ? sent.status : undefined
          const stored = await under.storage.exists(upload.key)
          const before = await documents().count()
          const error = await documents()
            .save({
              name: options.fileName ?? 'upload',
              [options.claimedAs ?? attribute]: claimUpload(upload.token),
            })
            .then(
              () => undefined,
              (caught: unknown) => caught,
            )
          expect(error, 'the claim was not refused').toBeInstanceOf(UploadClaimError)
          expect((error as UploadClaimError).reason).toBe(reason)
          expect(await documents().count()).toBe(before)
          expect(await under.storage.exists(upload.key), 'left for gc').toBe(stored)
          return { status, stored }
        }

        it('a PNG renamed .pdf is refused by its bytes', async () => {
          const { stored } = await expectRefused(
            'scan',
            png(100),
            'application/pdf',
            under.refusesAtUpload ? 'missing' : 'media-type',
            { fileName: 'scan.pdf', contentType: 'application/pdf' },
          )
          expect(stored).toBe(!under.refusesAtUpload)
        })

        it('a PNG renamed .pdf, uploaded with no declared type, is refused at claim', async () => {
          const { stored } = await expectRefused(
            'scan',
            png(100),
            'application/pdf',
            'media-type',
            {
              fileName: 'scan.pdf',
            },
          )
          expect(stored).toBe(true)
        })

        it('an HTML page declared image/png is refused', async () => {
          const { stored } = await expectRefused(
            'picture',
            HTML,
            'image/png',
            under.refusesAtUpload ? 'missing' : 'media-type',
            { contentType: 'image/png' },
          )
          expect(stored).toBe(!under.refusesAtUpload)
        })

        it('an HTML page uploaded for an image attribute with no declared type is refused at claim', async () => {
          await expectRefused('picture', HTML, 'image/png', 'media-type')
        })

        it('an empty body is refused', async () => {
          await expectRefused('picture', Buffer.alloc(0), 'image/png', 'media-type')
        })

        it(`a body over the attribute's maxSize (${MAX_SIZE} bytes) is refused`, async () => {
          const { status, stored } = await expectRefused(
            'scan',
            PDF(MAX_SIZE + 500),
            'application/pdf',
            under.refusesAtUpload ? 'missing' : 'too-large',
          )
          expect(stored).toBe(!under.refusesAtUpload)
          if (under.refusesAtUpload && status !== undefined) expect(status).toBe(413)
        })

        it('a token is refused for another attribute than it was made for', async () => {
          await expectRefused('scan', PDF(200), 'application/pdf', 'other-target', {
            claimedAs: 'notes',
          })
        })

        it('the accepted upload is claimed, to show the refusals above are the rules', async () => {
          const upload = await createUpload(dataSource, ClaimedDocument, 'scan', {
            maxSize: MAX_SIZE,
          })
          expect(await sendUpload(upload, PDF(500), 'application/pdf')).toMatchObject({
            status: expect.any(Number),
          })
          const saved = await documents().save({ name: 'ok.pdf', scan: claimUpload(upload.token) })
          expect(await documents().countBy({ id: saved.id })).toBe(1)
        })
      },
    )
  }
}
