/**
 * The built packages work from a plain Node ESM program: no TypeScript, no bundler, no
 * source condition. Runs against `dist/`, so it needs `pnpm build` first (CI builds before
 * testing); without a build it skips and says why.
 */
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import path from 'node:path'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'

const run = promisify(execFile)
const root = path.resolve(import.meta.dirname, '../..')

const packages: Array<[string, string[]]> = [
  ['@attrstore/core', ['MemoryStorage', 'ObjectNotFoundError', 'existingObject']],
  ['@attrstore/core/driver', ['BaseStorage', 'resolveRange', 'DigestStream']],
  ['@attrstore/core/conformance', ['describeStorageConformance']],
  ['@attrstore/attacher', ['UnitOfWork', 'Attacher', 'StoredContent', 'InProcessObjectLocks']],
  ['@attrstore/fs', ['BytesFileSystemStorage']],
  ['@attrstore/s3', ['S3Storage']],
  ['@attrstore/typeorm', ['StoredAttribute', 'setStorage', 'getStorageKey', 'unsetStorage']],
  ['@attrstore/testing', ['startPostgres', 'startS3', 'InstrumentedStorage']],
]

const built = ['core', 'attacher', 'fs', 's3', 'typeorm', 'testing'].every((name) =>
  existsSync(path.join(root, 'packages', name, 'dist', 'index.js')),
)

describe('built packages import from plain Node', () => {
  if (!built) console.warn('[packaging] skipped: packages are not built; run `pnpm build` first')
  for (const [specifier, names] of packages) {
    it.skipIf(!built)(`${specifier} exports ${names.join(', ')}`, async () => {
      const program = `const m = await import(${JSON.stringify(specifier)}); console.log(JSON.stringify(Object.keys(m)))`
      // cwd test/: a workspace package that depends on every @attrstore package, as an app would.
      const { stdout } = await run(process.execPath, ['--input-type=module', '-e', program], {
        cwd: path.join(root, 'test'),
      })
      const exported = JSON.parse(stdout) as string[]
      for (const name of names) expect(exported).toContain(name)
    })
  }

  it.skipIf(!built)('a MemoryStorage round-trip works from the built files', async () => {
    const program = `
      const { MemoryStorage } = await import('@attrstore/core')
      const storage = new MemoryStorage()
      const { key } = await storage.write('hello')
      console.log(String(await storage.read(key)))`
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', program], {
      cwd: path.join(root, 'test'),
    })
    expect(stdout.trim()).toBe('hello')
  })
})
