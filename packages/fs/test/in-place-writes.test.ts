import { access, mkdtemp, readFile, rm, truncate } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { KeyConflictError } from '@attrstore/core'
import { BytesFileSystemStorage, RESERVED_DIRECTORY } from '@attrstore/fs'
import { changedDirectories } from '../src/durable-files.js'

let base: string
beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'attrstore-fs-in-place-'))
})
afterAll(async () => {
  await rm(base, { recursive: true, force: true })
})
let count = 0
const freshRoot = (): string => path.join(base, `root-${++count}`)
const exists = (file: string): Promise<boolean> =>
  access(file).then(
    () => true,
    () => false,
  )

it('writes bytes under a random key in place: no temporary file, no link; a chosen key still goes through one', async () => {
  const root = freshRoot()
  const storage = new BytesFileSystemStorage({ root })
  const { key, sha256 } = await storage.write('in place')
  expect(await readFile(storage.pathOf(key), 'utf8')).toBe('in place')
  expect((await storage.stat(key)).sha256).toBe(sha256)
  const temporary = path.join(root, RESERVED_DIRECTORY, 'tmp')
  expect(await exists(temporary)).toBe(false)

  const chosen = new BytesFileSystemStorage({ root })
  await chosen.write('aside first', { key: 'chosen/key.txt' })
  expect(await exists(temporary)).toBe(true)
  await expect(chosen.write('again', { key: 'chosen/key.txt' })).rejects.toBeInstanceOf(
    KeyConflictError,
  )
})

it('a hash record cut short (a crash while it was written) is no record: unverified, never wrong', async () => {
  const storage = new BytesFileSystemStorage({ root: freshRoot() })
  const { key, sha256 } = await storage.write('recorded')
  const record = path.join(storage.root, RESERVED_DIRECTORY, 'sha256', ...key.split('/'))
  expect((await readFile(record, 'utf8')).trim()).toBe(sha256)
  await truncate(record, 20)
  expect((await storage.stat(key)).sha256).toBeUndefined()
  expect((await storage.readWhole(key)).sha256).toBeUndefined()
  expect(await storage.verify(key)).toMatchObject({ sha256, verified: false })
})

it('names every directory whose entries a recursive mkdir changed, to fsync', () => {
  const root = path.resolve('/srv/files')
  const leaf = path.join(root, 'ab', 'cd')
  // Nothing created: only the directory that gets the new file.
  expect(changedDirectories(leaf, undefined)).toEqual([leaf])
  // ab/ and ab/cd/ created: each holds a new entry, and so does the root.
  expect(changedDirectories(leaf, path.join(root, 'ab'))).toEqual([
    leaf,
    path.join(root, 'ab'),
    root,
  ])
  expect(changedDirectories(leaf, leaf)).toEqual([leaf, path.join(root, 'ab')])
})
