import 'reflect-metadata'
import path from 'node:path'
import { describe, expect, it } from 'vitest'
import { loadDataSource } from '../src/index.js'
import { bindingLabel } from '../src/bindings.js'
import { FIXTURES } from './support.js'

const fixture = (name: string): string => path.join(FIXTURES, 'loader', name)

describe('loadDataSource', () => {
  it('takes a default-exported DataSource, runs its configureStorages hook, and never touches the schema', async () => {
    const loaded = await loadDataSource(fixture('default-export.ts'))
    try {
      expect(loaded.dataSource.isInitialized).toBe(true)
      expect(loaded.dataSource.options.synchronize).toBe(false)
      expect(
        await loaded.dataSource.query(`SELECT name FROM sqlite_master WHERE type = 'table'`),
      ).toEqual([])
      expect(loaded.bindings().map(bindingLabel).sort()).toEqual([
        'Attachment.content',
        'Document.body',
      ])
      expect(loaded.storage('legacyFiles')).toBe(loaded.exports.legacyFiles)
      expect(() => loaded.storage('nothing')).toThrow(
        /exports no storage named "nothing"; it exports: legacyFiles, files/,
      )
    } finally {
      await loaded.destroy()
    }
    expect(loaded.dataSource.isInitialized).toBe(false)
  })

  it('calls a default-exported factory', async () => {
    const loaded = await loadDataSource(fixture('factory.ts'))
    try {
      expect(loaded.bindings().map(bindingLabel)).toEqual(['Document.body'])
    } finally {
      await loaded.destroy()
    }
  })

  it('refuses modules without exactly one DataSource, and missing files', async () => {
    await expect(loadDataSource(fixture('none.ts'))).rejects.toThrow(/exports no DataSource/)
    await expect(loadDataSource(fixture('two.ts'))).rejects.toThrow(
      /exports 2 DataSource instances/,
    )
    await expect(loadDataSource(fixture('missing.ts'))).rejects.toThrow(/not found/)
  })
})
