import { randomUUID } from 'node:crypto'
import { S3Client } from '@aws-sdk/client-s3'
import {
  type ConformanceOptions,
  describeStorageConformance,
  digestOf,
  generateBody,
  MiB,
} from '@attrstore/core/conformance'
import { S3Storage, type S3StorageOptions } from '@attrstore/s3'
import type { TestS3 } from '@attrstore/testing'
import { beforeAll, describe } from 'vitest'

/** Connection options of S3Storage for a test server, retries kept low so failures are quick. */
export function connection(
  s3: TestS3,
): Pick<S3StorageOptions, 'bucket' | 'endpoint' | 'region' | 'credentials' | 'maxAttempts'> {
  return {
    bucket: s3.bucket,
    endpoint: s3.endpoint,
    region: s3.region,
    credentials: s3.credentials,
    maxAttempts: 2,
  }
}

/**
 * The conformance suite against one engine, each storage under its own fresh prefix; the
 * server is stopped at the end unless `stop: false`. `unenforced`: what the server was
 * seen not to enforce of signed URLs and direct uploads (presigned.servers.test.ts
 * asserts it).
 */
export function describeS3Conformance(
  label: string,
  started: { s3?: TestS3 | undefined; skip?: string | undefined },
  extra: Partial<S3StorageOptions> = {},
  {
    stop = true,
    unenforced,
  }: { stop?: boolean; unenforced?: ConformanceOptions['unenforced'] } = {},
): void {
  const { s3, skip } = started
  if (!s3) {
    console.warn(`[skip] S3Storage on ${label}: ${skip}`)
    describe.skipIf(true)(`S3Storage on ${label} (skipped: ${skip})`, () => {})
    return
  }
  const storages: S3Storage[] = []
  beforeAll(async () => {
    // The large-body case measures how much the process grows while 256 MiB stream up
    // and back. The first multipart upload of a process also loads the multipart code and
    // grows V8's heap once (about 20 MiB, whatever the body size): pay that here, so the case
    // measures what scales with the body.
    const storage = new S3Storage({
      ...connection(s3),
      prefix: `warm-up-${randomUUID()}`,
      ...extra,
    })
    const { key } = await storage.write(generateBody(12 * MiB).stream)
    await digestOf(await storage.readStream(key))
    await storage.delete(key)
    storage.destroy()
  })
  describeStorageConformance(`S3Storage on ${label}`, {
    create: ({ keyGenerator }) => {
      const storage = new S3Storage({
        ...connection(s3),
        prefix: `conformance-${randomUUID()}`,
        ...(keyGenerator ? { keyGenerator } : {}),
        ...extra,
      })
      storages.push(storage)
      return storage
    },
    dispose: async () => {
      for (const storage of storages) storage.destroy()
      // `stop: false`: the file runs more cases on the server, and stops it itself.
      if (stop) await s3.stop()
    },
    // 256 MiB must stream up and back without being held. Growth measured on the 2-core
    // machine with the default settings: 85-117 MiB (RSS and Buffer memory), over the
    // suite's default 96 MiB. The excess is not held data: live upload memory is
    // queueSize x partSize = 20 MiB (a fixed pool of part buffers), and V8 lets up to
    // ~64 MiB of dead Buffers (the body's own chunks; every HTTP read allocates) pile up
    // before it collects them. A buffered body would show 256 MiB or more. bench/s3-stream.ts
    // checks 1 GiB against the 256 MiB RSS ceiling.
    largeBody: { bytes: 256 * MiB, maxMemoryGrowth: 160 * MiB },
    ...(unenforced ? { unenforced } : {}),
  })
}

/** A plain client for checking what the server really holds. */
export function rawClient(s3: TestS3): S3Client {
  return new S3Client(s3.clientConfig)
}
