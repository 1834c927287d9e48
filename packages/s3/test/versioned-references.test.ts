/**
 * `versionedReferences`, the declared capability the reference checks read: false only
 * when the storage is configured `versioning: false` and no write of it got a version id.
 */
import type { S3Client } from '@aws-sdk/client-s3'
import { S3Storage } from '@attrstore/s3'
import { describe, expect, it } from 'vitest'
import { parseReference } from '../src/reference.js'
import { FakeVersionedS3 } from './fake-versioned-s3.js'

const client = new FakeVersionedS3() as unknown as S3Client

describe('S3Storage.versionedReferences', () => {
  it('is false with versioning: false, true with true and with the default (auto), asking nothing', () => {
    const made = (versioning?: boolean | 'auto') =>
      new S3Storage({
        bucket: 'versioned',
        client,
        ...(versioning === undefined ? {} : { versioning }),
      })
    expect(made(false).versionedReferences).toBe(false)
    expect(made(true).versionedReferences).toBe(true)
    expect(made('auto').versionedReferences).toBe(true)
    expect(made().versionedReferences).toBe(true)
  })

  it('turns true once a write of a storage configured versioning: false gets a version id back', async () => {
    const storage = new S3Storage({
      bucket: 'versioned',
      client,
      prefix: 'wrong',
      versioning: false,
    })
    const written = await storage.write('versioned after all')
    expect(parseReference(written.key).versionId).toBeDefined()
    expect(storage.versionedReferences).toBe(true)
  })
})
