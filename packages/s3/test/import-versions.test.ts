import { randomUUID } from 'node:crypto'
import type { S3Client } from '@aws-sdk/client-s3'
import { existingObject, InvalidKeyError, ObjectNotFoundError } from '@attrstore/core'
import { S3Storage } from '@attrstore/s3'
import { parseReference } from '../src/reference.js'
import { afterAll, describe, expect, it } from 'vitest'
import { FakeVersionedS3 } from './fake-versioned-s3.js'
import { startS3OrSkip } from '@attrstore/testing'
import { connection } from './support.js'

// An import that pins a version must address that version: checked on the server, and
// refused where the bucket has no versions (the server would ignore the id and serve, or
// delete, the key's object). objectKey() says which object a reference addresses.

describe('importing a pinned version (versioned bucket, in-memory fake)', () => {
  const storage = new S3Storage({
    bucket: 'versioned',
    client: new FakeVersionedS3() as unknown as S3Client,
    prefix: `iv-${randomUUID()}`,
  })

  it('an existing version is imported as given; one the server does not have is refused', async () => {
    const written = await storage.write('pinned')
    const { key, versionId } = parseReference(written.key)
    expect(versionId).toBeDefined()
    expect(await storage.write(existingObject(written.key))).toMatchObject({
      key: written.key,
      imported: true,
    })
    await expect(storage.write(existingObject(`${key}//versionId=nope`))).rejects.toBeInstanceOf(
      ObjectNotFoundError,
    )
  })

  it('objectKey() is the key without the version, and refuses what is no reference', () => {
    expect(storage.objectKey('a/b.pdf//versionId=3%2FL4')).toBe('a/b.pdf')
    expect(storage.objectKey('a/b.pdf')).toBe('a/b.pdf')
    expect(() => storage.objectKey('a//b')).toThrow(InvalidKeyError)
  })
})

const started = await startS3OrSkip({ engine: 'fauxqs' })

describe.skipIf(!started.s3)(
  `importing a pinned version on an unversioned bucket (fauxqs)${started.skip ? ` (skipped: ${started.skip})` : ''}`,
  () => {
    const storage = started.s3
      ? new S3Storage({ ...connection(started.s3), prefix: `iv-${randomUUID()}` })
      : undefined
    afterAll(async () => {
      storage?.destroy()
      await started.s3?.stop()
    })

    it('is refused with InvalidKeyError, and the key object is left alone', async () => {
      const written = await storage!.write('victim')
      await expect(
        storage!.write(existingObject(`${written.key}//versionId=abc`)),
      ).rejects.toBeInstanceOf(InvalidKeyError)
      expect(String(await storage!.read(written.key))).toBe('victim')
      expect(await storage!.write(existingObject(written.key))).toMatchObject({ imported: true })
    })
  },
)
