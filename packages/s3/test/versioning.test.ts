import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import type { S3Client } from '@aws-sdk/client-s3'
import { existingObject } from '@attrstore/core'
import { describeStorageConformance } from '@attrstore/core/conformance'
import { S3Storage } from '@attrstore/s3'
import { parseReference } from '../src/reference.js'
import { describe, expect, it } from 'vitest'
import { FakeVersionedS3 } from './fake-versioned-s3.js'

const fake = new FakeVersionedS3()
const client = fake as unknown as S3Client

describeStorageConformance('S3Storage on a versioned bucket (in-memory fake)', {
  create: ({ keyGenerator }) =>
    new S3Storage({
      bucket: 'versioned',
      client,
      prefix: `c-${randomUUID()}`,
      ...(keyGenerator ? { keyGenerator } : {}),
    }),
  largeBody: { skip: 'the versioned fake keeps bodies in memory' },
  unenforced: { http: 'the versioned fake is a client only: nothing serves its URLs' },
})

describe('versioned references', () => {
  const storage = new S3Storage({
    bucket: 'versioned',
    client,
    prefix: 'pinned',
    partSize: 5 * 1024 * 1024,
  })

  it('pin the version: reads, stats and deletes use it, even after the key got a newer version', async () => {
    const first = await storage.write('first', { context: {} })
    const { key, versionId } = parseReference(first.key)
    expect(versionId).toBeDefined()
    // Another writer (not attrstore, which never overwrites) puts a new version on the key.
    await fake.send({
      constructor: { name: 'PutObjectCommand' },
      input: { Key: `pinned/${key}`, Body: Buffer.from('second') },
    })
    expect(String(await storage.read(first.key))).toBe('first')
    expect((await storage.stat(first.key)).key).toBe(first.key)
    await storage.delete(first.key)
    expect(fake.objects.get(`pinned/${key}`)).toHaveLength(1)
    await expect(storage.read(first.key)).rejects.toMatchObject({ code: 'ATTRSTORE_NOT_FOUND' })
  })

  it('a multipart body: the SHA-256 copy becomes the pinned version and the first one is deleted', async () => {
    const body = Buffer.alloc(11 * 1024 * 1024, 7)
    const written = await storage.write(
      Readable.from([body.subarray(0, 6_000_000), body.subarray(6_000_000)]),
    )
    const { key, versionId } = parseReference(written.key)
    const versions = fake.objects.get(`pinned/${key}`)!
    expect(versions.map((v) => v.versionId)).toEqual([versionId])
    expect((await storage.stat(written.key)).sha256).toBe(written.sha256)
    expect((await storage.read(written.key, { verify: true })).equals(body)).toBe(true)
  })

  it('imports pin the current version, and listings give pinned references', async () => {
    const prefix = `list-${randomUUID()}`
    const local = new S3Storage({ bucket: 'versioned', client, prefix })
    const written = await local.write('x')
    const { key } = parseReference(written.key)
    const imported = await local.write(existingObject(key))
    expect(imported).toMatchObject({ key: written.key, imported: true })
    const listed = []
    for await (const entry of local.list()) listed.push(entry.key)
    expect(listed).toEqual([written.key])
  })
})
