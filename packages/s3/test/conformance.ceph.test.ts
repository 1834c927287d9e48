import { randomUUID } from 'node:crypto'
import { GetObjectCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3'
import { S3Storage } from '@attrstore/s3'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createVersionedBucket, describeRealServerCases } from './server-cases.js'
import { startS3OrSkip } from '@attrstore/testing'
import { connection, describeS3Conformance } from './support.js'

// A throwaway Ceph cluster and its RADOS Gateway (Debian's radosgw, ceph-mon, ceph-osd),
// started by @attrstore/testing. Where the binaries are missing every case is skipped,
// and the reason printed: nothing stands in for it.
const started = await startS3OrSkip({ engine: 'ceph' })
afterAll(() => started.s3?.stop())

describeS3Conformance('Ceph RGW', started, {}, { stop: false })
describeRealServerCases('Ceph RGW', started)

// What RGW does that attrstore must work around, measured here so that a change of the
// server's behaviour shows.
describe.skipIf(!started.s3)(
  `Ceph RGW's own behaviour${started.skip ? ` (skipped: ${started.skip})` : ''}`,
  () => {
    const s3 = started.s3!
    let raw: S3Client
    let versioned: string
    beforeAll(async () => {
      raw = new S3Client(s3.clientConfig)
      versioned = await createVersionedBucket(s3, raw)
    })
    afterAll(() => raw?.destroy())

    it('honours If-None-Match on PutObject of an unversioned bucket only: the probe says so per bucket', async () => {
      const plain = new S3Storage({ ...connection(s3), prefix: randomUUID() })
      expect(await plain.probe()).toEqual({ conditionalWrites: true, versioning: false })
      const onVersioned = new S3Storage({
        ...connection(s3),
        bucket: versioned,
        prefix: randomUUID(),
      })
      expect(await onVersioned.probe()).toEqual({ conditionalWrites: false, versioning: true })
      // The raw behaviour behind it: a second conditional PUT adds a version.
      const key = `raw-${randomUUID()}`
      const put = () =>
        raw.send(new PutObjectCommand({ Bucket: versioned, Key: key, Body: 'x', IfNoneMatch: '*' }))
      const first = await put()
      const second = await put()
      expect(second.VersionId).not.toBe(first.VersionId)
      plain.destroy()
      onVersioned.destroy()
    })

    it('answers errors with an empty <Message>: the SDK says "UnknownError", only code and status tell', async () => {
      const error = await raw
        .send(new GetObjectCommand({ Bucket: s3.bucket, Key: `missing-${randomUUID()}` }))
        .catch((caught: unknown) => caught as Error & { $metadata: { httpStatusCode: number } })
      expect(error).toMatchObject({ name: 'NoSuchKey', message: 'UnknownError' })
      expect(error.$metadata.httpStatusCode).toBe(404)
    })
  },
)
