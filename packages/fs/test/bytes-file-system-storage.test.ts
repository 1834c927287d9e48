import { mkdtemp, readdir, rm, stat, utimes, writeFile, chmod } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  ConfigurationError,
  IntegrityError,
  InvalidKeyError,
  KeyConflictError,
} from '@attrstore/core'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { firstJsonLine, spawnFixture } from '@attrstore/testing'

let base: string
beforeAll(async () => {
  base = await mkdtemp(path.join(tmpdir(), 'attrstore-fs-'))
})
afterAll(async () => {
  await rm(base, { recursive: true, force: true })
})
let count = 0
const freshRoot = (): string => path.join(base, `root-${++count}`)

describe('BytesFileSystemStorage', () => {
  it('refuses a missing root or a bad file mode at construction', () => {
    expect(() => new BytesFileSystemStorage({} as never)).toThrow(ConfigurationError)
    expect(() => new BytesFileSystemStorage({ root: '  ' })).toThrow(/needs a `root`/)
    expect(() => new BytesFileSystemStorage({ root: freshRoot(), fileMode: 0o1777 })).toThrow(
      ConfigurationError,
    )
  })

  it('shards keys and keeps the file extension the context knows', async () => {
    const storage = new BytesFileSystemStorage({ root: freshRoot() })
    const { key } = await storage.write('pdf bytes', { context: { fileName: 'Report.Final.PDF' } })
    expect(key).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f-]{36}\.pdf$/)
    expect(key.slice(0, 2)).toBe(key.slice(6, 8))
    const plain = await storage.write('no name')
    expect(plain.key).toMatch(/^[0-9a-f]{2}\/[0-9a-f]{2}\/[0-9a-f-]{36}$/)
    expect(storage.pathOf(key)).toBe(path.join(storage.root, ...key.split('/')))
  })

  it('stores files read-only by default, with a configurable mode', async () => {
    const readOnly = new BytesFileSystemStorage({ root: freshRoot() })
    const a = await readOnly.write('a')
    expect((await stat(readOnly.pathOf(a.key))).mode & 0o777).toBe(0o444)
    const writable = new BytesFileSystemStorage({ root: freshRoot(), fileMode: 0o640 })
    const b = await writable.write('b')
    expect((await stat(writable.pathOf(b.key))).mode & 0o777).toBe(0o640)
    await readOnly.delete(a.key) // read-only files can still be deleted
    expect(await readOnly.exists(a.key)).toBe(false)
  })

  it('never lets a key reach outside the root, nor into its reserved directory', async () => {
    const storage = new BytesFileSystemStorage({
      root: freshRoot(),
      keyGenerator: () => '.attrstore/tmp/evil',
    })
    await expect(storage.write('x')).rejects.toBeInstanceOf(InvalidKeyError)
    expect(() => storage.pathOf('../outside')).toThrow(InvalidKeyError)
    expect(() => storage.pathOf('.attrstore')).toThrow(InvalidKeyError)
  })

  it('refuses a key whose directory is taken by a file', async () => {
    const keys = ['taken', 'taken/child']
    const storage = new BytesFileSystemStorage({
      root: freshRoot(),
      keyGenerator: () => keys.shift()!,
    })
    await storage.write('file')
    await expect(storage.write('child')).rejects.toBeInstanceOf(KeyConflictError)
    expect(String(await storage.read('taken'))).toBe('file')
  })

  it('detects a corrupted file with verify', async () => {
    const storage = new BytesFileSystemStorage({ root: freshRoot(), fileMode: 0o644 })
    const { key } = await storage.write('original content')
    await writeFile(storage.pathOf(key), 'tampered content')
    await expect(storage.verify(key)).rejects.toBeInstanceOf(IntegrityError)
    await expect(storage.read(key, { verify: true })).rejects.toBeInstanceOf(IntegrityError)
  })

  it('a process killed mid-write leaves no file under a final name, only a temporary file gc removes', async () => {
    const root = freshRoot()
    const child = spawnFixture(
      path.join(import.meta.dirname, 'fixtures', 'write-until-killed.ts'),
      [root],
    )
    await firstJsonLine<{ started: true }>(child, 'start of the write', 30_000)
    child.kill('SIGKILL')
    await new Promise((resolve) => child.on('exit', resolve))

    const storage = new BytesFileSystemStorage({ root })
    const listed: string[] = []
    for await (const entry of storage.list()) listed.push(entry.key)
    expect(listed).toEqual([])
    expect(await storage.exists('crash/victim.bin')).toBe(false)
    const temporary = path.join(root, '.attrstore', 'tmp')
    const leftovers = await readdir(temporary)
    expect(leftovers).toHaveLength(1)
    expect(leftovers[0]).toMatch(/\.tmp$/)

    // Too young: a write may still be in flight. Once old enough: removed.
    const day = { olderThanMs: 24 * 60 * 60 * 1000 }
    expect(await storage.cleanStaleWrites(day)).toEqual({
      kind: 'temporary files',
      supported: true,
      found: 1,
      removed: 0,
      kept: 1,
      failed: 0,
      bytes: 0,
    })
    const old = new Date(Date.now() - 25 * 60 * 60 * 1000)
    await utimes(path.join(temporary, leftovers[0]!), old, old)
    const report = await storage.cleanStaleWrites(day)
    expect(report.removed).toBe(1)
    expect(report.bytes).toBeGreaterThan(0)
    expect(await readdir(temporary)).toEqual([])
  }, 60_000)

  const isRoot = process.getuid?.() === 0
  if (isRoot)
    console.warn(
      '[fs] unwritable-root case skipped: running as root, where permissions are not enforced',
    )
  it.skipIf(isRoot)(
    'reports an unwritable root as unavailable, not as a missing object',
    async () => {
      const root = freshRoot()
      const storage = new BytesFileSystemStorage({ root })
      await storage.write('x')
      await chmod(root, 0o500)
      try {
        await expect(storage.write('y')).rejects.toThrow(/BytesFileSystemStorage/)
      } finally {
        await chmod(root, 0o755)
      }
    },
  )
})
