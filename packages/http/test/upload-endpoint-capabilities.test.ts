// withUploadEndpoint adds one capability (createDirectUpload) and must pass on the
// wrapped storage's declarations as they are: the reference checks read objectKey and
// versionedReferences from the storage they are given, here the wrapper.
import { createHash, randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { MemoryStorage } from '@attrstore/core'
import { describe, expect, it } from 'vitest'
import { withUploadEndpoint } from '../src/index.js'

/** A storage whose references may, once it has seen a version, carry one (as S3Storage's). */
class VersioningStorage extends MemoryStorage {
  sawVersion = false
  objectKey(reference: string): string {
    return reference.split('//')[0]!
  }
  get versionedReferences(): boolean {
    return this.sawVersion
  }
}

const options = { baseUrl: 'http://uploads.invalid/put', secret: randomBytes(32) }

describe('withUploadEndpoint', () => {
  it('forwards objectKey and a live versionedReferences; adds none the storage lacks', () => {
    const inner = new VersioningStorage()
    const wrapped = withUploadEndpoint(inner, options)
    expect(wrapped.objectKey?.('a/b//versionId=1')).toBe('a/b')
    expect(wrapped.readWhole).toBeUndefined()
    expect(wrapped.versionedReferences).toBe(false)
    inner.sawVersion = true
    expect(wrapped.versionedReferences).toBe(true)

    const plain = withUploadEndpoint(new MemoryStorage(), options)
    expect(plain.objectKey).toBeUndefined()
    expect(plain.versionedReferences).toBeUndefined()
    expect(typeof plain.createDirectUpload).toBe('function')
  })

  it('forwards readWhole where the storage has it (BytesFileSystemStorage)', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'attrstore-endpoint-'))
    try {
      const files = withUploadEndpoint(new BytesFileSystemStorage({ root, fsync: false }), options)
      const { key } = await files.write('whole')
      const whole = await files.readWhole!(key)
      expect(whole.bytes.toString()).toBe('whole')
      expect(whole.sha256).toBe(createHash('sha256').update('whole').digest('hex'))
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })
})
