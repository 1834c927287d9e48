/**
 * Direct uploads straight to S3 servers (S3Storage's presigned POST), claimed into TypeORM
 * rows on SQLite: fauxqs, s3rver and Ceph RGW. What the store itself refuses depends on the
 * server (packages/s3/test/server-findings.ts): only Ceph enforces the POST policy, so an
 * oversized body is refused by Ceph and, on the emulators, by the claim.
 */
import { createHash } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { DataSource } from 'typeorm'
import { UploadClaimError } from '@attrstore/core'
import { S3Storage } from '@attrstore/s3'
import { startS3OrSkip, type TestS3 } from '@attrstore/testing'
import { startDatabaseServer, type DatabaseServer } from '@attrstore/testing/world'
import { claimUpload, createUpload, type StoredContent } from '@attrstore/typeorm'
import { FINDINGS } from '../../packages/s3/test/server-findings.js'
import { Photo, png, sendUpload, uploadWorld } from './support.js'

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

for (const engine of ['fauxqs', 's3rver', 'ceph'] as const) {
  const started = await startS3OrSkip({ engine, isolate: engine !== 'ceph' })
  describe.skipIf(!started.s3)(
    `direct uploads to ${engine}${started.skip ? ` (skipped: ${started.skip})` : ''}`,
    () => {
      const s3 = started.s3 as TestS3
      let databases: DatabaseServer
      let dataSource: DataSource
      let storage: S3Storage
      beforeAll(async () => {
        databases = await startDatabaseServer('sqlite')
        storage = new S3Storage({
          ...s3.storageOptions,
          maxAttempts: 2,
          prefix: `uploads-${engine}/`,
        })
        dataSource = await uploadWorld(databases, storage)
      })
      afterAll(async () => {
        await dataSource?.destroy()
        await storage?.dispose()
        await databases?.stop()
        await s3?.stop()
      })
      const photos = () => dataSource.getRepository(Photo)

      it('a presigned POST upload is claimed: the row references the key, the SHA-256 is the bytes', async () => {
        const upload = await createUpload(dataSource, Photo, 'image', {
          maxSize: 64 * 1024,
          contentType: 'image/png',
          fileName: 'pixel.png',
        })
        expect(upload.method).toBe('POST')
        const content = png(20_000)
        const sent = await sendUpload(upload, content, 'image/png')
        expect('status' in sent && sent.status < 300, JSON.stringify(sent)).toBe(true)
        const photo = await photos().save({ title: engine, image: claimUpload(upload.token) })
        expect((photo.image as unknown as StoredContent).sha256).toBe(sha256(content))
        const row = await photos().findOneByOrFail({ id: photo.id })
        expect((row.image as StoredContent).key).toBe(upload.key)
        expect(sha256(await (row.image as StoredContent).buffer())).toBe(sha256(content))
      })

      it(`a body over maxSize is refused ${FINDINGS[engine].enforcesPostPolicy ? 'by the store' : 'at claim (the server enforces no POST policy)'}`, async () => {
        const upload = await createUpload(dataSource, Photo, 'image', {
          maxSize: 1000,
          contentType: 'image/png',
        })
        const sent = await sendUpload(upload, png(5000), 'image/png')
        if (FINDINGS[engine].enforcesPostPolicy) {
          expect('status' in sent ? sent.status : 400).toBeGreaterThanOrEqual(400)
          expect(await storage.exists(upload.key)).toBe(false)
        }
        const error = await photos()
          .save({ title: 'big', image: claimUpload(upload.token) })
          .catch((caught: unknown) => caught)
        expect(error).toBeInstanceOf(UploadClaimError)
        expect((error as UploadClaimError).reason).toBe(
          FINDINGS[engine].enforcesPostPolicy ? 'missing' : 'too-large',
        )
      })

      it('a content of another media type than the attribute accepts is refused at claim', async () => {
        const upload = await createUpload(dataSource, Photo, 'image', { maxSize: 1000 })
        await sendUpload(upload, Buffer.from('<html><script>alert(1)</script></html>'), 'text/html')
        const error = await photos()
          .save({ title: 'html', image: claimUpload(upload.token) })
          .catch((caught: unknown) => caught)
        expect((error as UploadClaimError).reason).toBe('media-type')
      })
    },
  )
}
