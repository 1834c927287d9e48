import { randomUUID } from 'node:crypto'
import { S3Storage } from '@attrstore/s3'
import { afterAll, describe, expect, it } from 'vitest'
import { describeRealServerCases } from './server-cases.js'
import { startS3OrSkip } from '@attrstore/testing'
import { connection, describeS3Conformance } from './support.js'

// MinIO, through testcontainers, where a container runtime has (or can pull) the image.
// Elsewhere every case here is skipped, and the reason printed: nothing stands in for it.
const started = await startS3OrSkip({ engine: 'minio' })
afterAll(() => started.s3?.stop())

describeS3Conformance('MinIO', started, {}, { stop: false })
describeRealServerCases('MinIO', started)

describe.skipIf(!started.s3)(
  `S3Storage on MinIO${started.skip ? ` (skipped: ${started.skip})` : ''}`,
  () => {
    it('honours If-None-Match: no HEAD emulation needed', async () => {
      const storage = new S3Storage({ ...connection(started.s3!), prefix: randomUUID() })
      expect(await storage.probe()).toMatchObject({ conditionalWrites: true })
      storage.destroy()
    })
  },
)
