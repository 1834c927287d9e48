import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { expect, it } from 'vitest'
import { InvalidKeyError, ObjectNotFoundError } from '../errors.js'
import { sha256Hex } from '../integrity.js'
import { fixedKeys, listAll, type SuiteContext } from './context.js'

/** Stored objects: stat, missing objects, deletes, listings, concurrent writes. */
export function describeObjects({ make, scoped, run, recordsSha256, slow }: SuiteContext): void {
  it('stats an object', async () => {
    const storage = await make(scoped('stat'))
    const content = randomBytes(12345)
    const before = Date.now()
    const { key } = await storage.write(content)
    const stat = await storage.stat(key)
    expect(stat.key).toBe(key)
    expect(stat.size).toBe(12345)
    if (stat.lastModified) {
      expect(stat.lastModified.getTime()).toBeGreaterThan(before - 5 * 60_000)
      expect(stat.lastModified.getTime()).toBeLessThan(Date.now() + 5 * 60_000)
    }
    if (recordsSha256) expect(stat.sha256).toBe(sha256Hex(content))
    expect(await storage.exists(key)).toBe(true)
  })

  it('reading, stating or verifying a missing object is a not-found error, never empty', async () => {
    const storage = await make(scoped('missing'))
    const key = `${run}/missing/nothing-here`
    await expect(storage.read(key)).rejects.toBeInstanceOf(ObjectNotFoundError)
    await expect(storage.readStream(key)).rejects.toBeInstanceOf(ObjectNotFoundError)
    await expect(storage.stat(key)).rejects.toBeInstanceOf(ObjectNotFoundError)
    await expect(storage.verify(key)).rejects.toBeInstanceOf(ObjectNotFoundError)
    expect(await storage.exists(key)).toBe(false)
    const error = await storage.read(key).catch((caught: unknown) => caught)
    expect((error as ObjectNotFoundError).key).toBe(key)
    expect((error as ObjectNotFoundError).code).toBe('ATTRSTORE_NOT_FOUND')
  })

  it('deletes idempotently', async () => {
    const storage = await make(scoped('delete'))
    const { key } = await storage.write('to delete')
    await storage.delete(key)
    await storage.delete(key)
    await expect(storage.read(key)).rejects.toBeInstanceOf(ObjectNotFoundError)
    expect(await storage.exists(key)).toBe(false)
    await storage.deleteMany([key, `${run}/delete/never-existed`])
  })

  it('deletes many objects at once', async () => {
    const storage = await make(scoped('delete-many'))
    const keys = await Promise.all(
      Array.from({ length: 12 }, (_, i) => storage.write(`n${i}`).then((w) => w.key)),
    )
    await storage.deleteMany(keys.slice(0, 10))
    const left = await listAll(storage, `${run}/delete-many/`)
    expect(left.map((entry) => entry.key)).toEqual(keys.slice(10).sort())
  })

  it('lists by prefix, and only that prefix', async () => {
    const storage = await make(
      fixedKeys([`${run}/list/a/1`, `${run}/list/a/2`, `${run}/list/ab`, `${run}/list/b/1`]),
    )
    const sizes = [1, 22, 333, 4444]
    // Listings give references, which may carry more than the key (a pinned version).
    const references: string[] = []
    for (const size of sizes) references.push((await storage.write(Buffer.alloc(size, 7))).key)
    const underA = await listAll(storage, `${run}/list/a/`)
    expect(underA.map((entry) => [entry.key, entry.size])).toEqual([
      [references[0], 1],
      [references[1], 22],
    ])
    const startingWithA = await listAll(storage, `${run}/list/a`)
    expect(startingWithA.map((entry) => entry.key)).toEqual(references.slice(0, 3))
    expect(await listAll(storage, `${run}/list/`)).toHaveLength(4)
    expect(await listAll(storage, `${run}/list/none/`)).toEqual([])
    await expect(async () => {
      for await (const entry of storage.list('../')) void entry
    }).rejects.toBeInstanceOf(InvalidKeyError)
  })

  it(
    'lists more than a thousand objects (paginated listings)',
    async () => {
      const storage = await make(scoped('many'))
      const keys: string[] = []
      for (let batch = 0; batch < 11; batch++) {
        const written = await Promise.all(Array.from({ length: 100 }, () => storage.write('x')))
        keys.push(...written.map((w) => w.key))
      }
      const listed = await listAll(storage, `${run}/many/`)
      expect(listed.map((entry) => entry.key)).toEqual(keys.sort())
      await storage.deleteMany(keys)
    },
    slow,
  )

  it('takes 50 concurrent writes', async () => {
    const storage = await make(scoped('concurrent'))
    const bodies = Array.from({ length: 50 }, (_, i) => randomBytes(1000 + i * 97))
    const written = await Promise.all(
      bodies.map((body, i) => storage.write(i % 2 ? body : Readable.from([body]))),
    )
    expect(new Set(written.map((w) => w.key)).size).toBe(50)
    const back = await Promise.all(written.map((w) => storage.read(w.key)))
    back.forEach((content, i) => expect(content.equals(bodies[i]!)).toBe(true))
  })
}
