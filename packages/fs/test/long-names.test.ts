/**
 * Keys a client may send that the file system cannot hold (a path segment over NAME_MAX,
 * 255 bytes on Linux) while the key itself is valid: an invalid key for this storage, never
 * "the storage is unavailable" (which an HTTP route answers 503, and monitoring pages for).
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { InvalidKeyError } from '@attrstore/core'
import { BytesFileSystemStorage } from '../src/index.js'

let root: string
let storage: BytesFileSystemStorage
const tooLong = `${'a'.repeat(300)}/b`

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'attrstore-long-names-'))
  storage = new BytesFileSystemStorage({ root })
})
afterAll(async () => {
  if (root) await rm(root, { recursive: true, force: true })
})

it('reading a key with a segment longer than the file system allows: InvalidKeyError', async () => {
  await expect(storage.stat(tooLong)).rejects.toBeInstanceOf(InvalidKeyError)
  await expect(storage.read(tooLong)).rejects.toBeInstanceOf(InvalidKeyError)
  await expect(storage.readStream(tooLong)).rejects.toBeInstanceOf(InvalidKeyError)
})

it('writing one: InvalidKeyError, and nothing kept', async () => {
  await expect(storage.write(Buffer.from('x'), { key: tooLong })).rejects.toBeInstanceOf(
    InvalidKeyError,
  )
  const keys: string[] = []
  for await (const entry of storage.list()) keys.push(entry.key)
  expect(keys).toEqual([])
})
