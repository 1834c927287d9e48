import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { existingObject } from '../body.js'
import { InvalidKeyError, KeyConflictError } from '../errors.js'
import type { KeyContext } from '../keys.js'
import { fixedKeys, listAll, type SuiteContext } from './context.js'

const WEIRD_KEY_PARTS = [
  'ünïcödé/ключ/日本語',
  'with spaces/a b  c.txt',
  'hash#fragment',
  'question?mark=1&x',
  'percent%20%zz',
  'plus+sign+',
  'mixed # ? % + é/ end',
]

const ESCAPING_KEYS = [
  '../x',
  '/abs',
  'a/../../b',
  'nul\u0000byte',
  '',
  'a//b',
  './x',
  'a/',
  '..',
  'C:\\windows',
]

/** Keys: how they are made, which are kept intact, which are refused, and no overwrite. */
export function describeKeyRules({ make, run, nextSequence }: SuiteContext): void {
  it('uses random UUID keys by default', async () => {
    const storage = await make()
    const a = await storage.write('a')
    const b = await storage.write('b')
    expect(a.key).not.toBe(b.key)
    expect(a.key).toMatch(/[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}/)
    await storage.deleteMany([a.key, b.key])
  })

  it('passes the write context to the key generator', async () => {
    const seen: KeyContext[] = []
    const storage = await make((context) => {
      seen.push(context)
      return `${run}/context/${context.entityName}-${context.attributeName}-${nextSequence()}`
    })
    const entity = { id: 1 }
    const written = await storage.write('x', {
      context: { entityName: 'File', attributeName: 'data', entity },
    })
    expect(written.key).toContain(`${run}/context/File-data-`)
    expect(seen[0]?.entity).toBe(entity)
  })

  it('keeps keys with unicode, spaces, #, ?, %, + intact', async () => {
    const keys = WEIRD_KEY_PARTS.map((part) => `${run}/weird/${part}`)
    const storage = await make(fixedKeys(keys))
    const stored: string[] = []
    for (const [index, expectedKey] of keys.entries()) {
      const written = await storage.write(`body ${index}`)
      stored.push(written.key)
      expect(await storage.read(written.key).then(String)).toBe(`body ${index}`)
      expect((await storage.stat(written.key)).size).toBe(`body ${index}`.length)
      if (written.key !== expectedKey)
        expect(written.key).toContain(expectedKey.split('/').pop()!.slice(0, 3))
    }
    const listed = await listAll(storage, `${run}/weird/`)
    expect(listed.map((entry) => entry.key).sort()).toEqual([...stored].sort())
    for (const key of stored) await storage.delete(key)
    expect(await listAll(storage, `${run}/weird/`)).toEqual([])
  })

  describe('keys that try to escape are refused with InvalidKeyError, and nothing is stored', () => {
    for (const bad of ESCAPING_KEYS) {
      it(JSON.stringify(bad), async () => {
        const storage = await make(() => bad)
        await expect(storage.write('escape attempt')).rejects.toBeInstanceOf(InvalidKeyError)
        await expect(storage.read(bad)).rejects.toBeInstanceOf(InvalidKeyError)
        await expect(storage.stat(bad)).rejects.toBeInstanceOf(InvalidKeyError)
        await expect(storage.delete(bad)).rejects.toBeInstanceOf(InvalidKeyError)
        await expect(storage.write(existingObject(bad))).rejects.toBeInstanceOf(InvalidKeyError)
      })
    }
  })

  it('refuses a generated key that is already used, and keeps the first object', async () => {
    const key = `${run}/conflict/same-key`
    const storage = await make(() => key)
    const first = await storage.write('first')
    await expect(storage.write('second')).rejects.toBeInstanceOf(KeyConflictError)
    await expect(
      storage.write(Readable.from([Buffer.from('third, streamed')])),
    ).rejects.toBeInstanceOf(KeyConflictError)
    expect(String(await storage.read(first.key))).toBe('first')
  })

  it('refuses concurrent writes racing for one key: exactly one wins, intact', async () => {
    const key = `${run}/race/one-key`
    const storage = await make(() => key)
    const bodies = Array.from({ length: 5 }, (_, i) => Buffer.alloc(50_000, i + 1))
    const results = await Promise.allSettled(
      bodies.map((body) => storage.write(Readable.from([body]))),
    )
    const won = results.filter((result) => result.status === 'fulfilled')
    expect(won).toHaveLength(1)
    for (const result of results) {
      if (result.status === 'rejected') expect(result.reason).toBeInstanceOf(KeyConflictError)
    }
    const content = await storage.read(key)
    expect(bodies.some((body) => body.equals(content))).toBe(true)
  })
}
