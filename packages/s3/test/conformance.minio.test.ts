import { randomUUID } from 'node:crypto'
import {
  ListMultipartUploadsCommand,
  PutBucketVersioningCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { failingBody } from '@attrstore/core/conformance'
import { parseReference, S3Storage } from '@attrstore/s3'
import { afterAll, describe, expect, it } from 'vitest'
import { connection, describeS3Conformance, startOrSkip } from './support.js'

// MinIO, through testcontainers, where a container runtime has (or can pull) the image.
// Elsewhere every case here is skipped, and the reason printed: nothing stands in for it.
const started = await startOrSkip({ engine: 'minio' })

describeS3Conformance('MinIO', started)

describe.skipIf(!started.s3)(
  `S3Storage on MinIO${started.skip ? ` (skipped: ${started.skip})` : ''}`,
  () => {
    const s3 = started.s3!
    const raw = s3 ? new S3Client(s3.clientConfig) : undefined
    afterAll(() => raw?.destroy())

    it('honours If-None-Match: no HEAD emulation needed', async () => {
      const storage = new S3Storage({ ...connection(s3), prefix: randomUUID() })
      expect(await storage.probe()).toMatchObject({ conditionalWrites: true })
    })

    it('a failed multipart upload leaves nothing in ListMultipartUploads', async () => {
      const prefix = `mpu-${randomUUID()}`
      const storage = new S3Storage({ ...connection(s3), prefix })
      await expect(storage.write(failingBody(48, 256 * 1024))).rejects.toThrow(/failed on purpose/)
      const uploads = await raw!.send(
        new ListMultipartUploadsCommand({ Bucket: s3.bucket, Prefix: `${prefix}/` }),
      )
      expect(uploads.Uploads ?? []).toEqual([])
      expect(await storage.abortStaleMultipartUploads(0)).toMatchObject({
        supported: true,
        found: 0,
      })
    })

    it('on a versioned bucket, references pin versions', async () => {
      const bucket = await s3.createBucket(`versioned-${randomUUID().slice(0, 8)}`)
      await raw!.send(
        new PutBucketVersioningCommand({
          Bucket: bucket,
          VersioningConfiguration: { Status: 'Enabled' },
        }),
      )
      const storage = new S3Storage({ ...connection(s3), bucket })
      const written = await storage.write('v1')
      expect(parseReference(written.key).versionId).toBeDefined()
      expect(String(await storage.read(written.key))).toBe('v1')
      const listed = []
      for await (const entry of storage.list()) listed.push(entry.key)
      expect(listed).toEqual([written.key])
      await storage.delete(written.key)
      expect(await storage.exists(written.key)).toBe(false)
    })
  },
)
