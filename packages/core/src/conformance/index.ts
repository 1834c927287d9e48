/**
 * The storage conformance suite: every rule of the `AttributeStorage` contract as vitest
 * tests, for any implementation, ours or yours, in one call:
 *
 * ```ts
 * import { describeStorageConformance } from '@attrstore/core/conformance'
 * describeStorageConformance('MyStorage', { create: ({ keyGenerator }) => new MyStorage({ keyGenerator }) })
 * ```
 */
import { randomBytes, randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import { afterAll, describe, expect, it } from 'vitest'
import { existingObject } from '../body.js'
import type { AttributeStorage, ListedObject } from '../contract.js'
import {
  IntegrityError,
  InvalidBodyError,
  InvalidKeyError,
  KeyConflictError,
  ObjectNotFoundError,
  RangeNotSatisfiableError,
} from '../errors.js'
import { sha256Hex } from '../integrity.js'
import type { KeyContext, KeyGenerator } from '../keys.js'
import type { SuiteContext } from './context.js'
import { digestOf, failingBody, generateBody, measureMemoryGrowth, MiB } from './fixtures.js'
import { describeReadOptions } from './read-options.js'
import { describeIterableProbing, describeWebBodies } from './web-bodies.js'

export { digestOf, failingBody, generateBody, measureMemoryGrowth, MiB } from './fixtures.js'

export interface ConformanceOptions {
  /**
   * Makes a storage for one test. Calls may share one backend (one bucket, one root): the
   * suite keeps its keys under a fresh random prefix, so it never sees other data.
   */
  create(options: { keyGenerator?: KeyGenerator }): AttributeStorage | Promise<AttributeStorage>
  /** Releases what `create` made, after the whole suite. */
  dispose?(): void | Promise<void>
  /**
   * The streamed large-body case: `bytes` (default 256 MiB) must round-trip while the
   * process grows by less than `maxMemoryGrowth` (default 96 MiB). `{ skip: 'why' }` for
   * storages that keep bodies in memory by design.
   */
  largeBody?: { bytes?: number; maxMemoryGrowth?: number } | { skip: string }
  /** The storage records a SHA-256 per object (`stat().sha256`). Default true. */
  recordsSha256?: boolean
  /** Per-test timeout in ms for the slow cases. Default 180 s. */
  slowTimeout?: number
}

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

function fixedKeys(keys: string[]): KeyGenerator {
  let index = 0
  return () => keys[index++ % keys.length]!
}

async function listAll(storage: AttributeStorage, prefix: string): Promise<ListedObject[]> {
  const found: ListedObject[] = []
  for await (const entry of storage.list(prefix)) found.push(entry)
  return found.sort((a, b) => (a.key < b.key ? -1 : 1))
}

/** Registers the conformance tests of one storage implementation in the current vitest file. */
export function describeStorageConformance(name: string, options: ConformanceOptions): void {
  const run = `conformance-${randomUUID()}`
  const slow = options.slowTimeout ?? 180_000
  let sequence = 0
  /** A key generator under this run's private prefix. */
  const scoped =
    (area: string): KeyGenerator =>
    () =>
      `${run}/${area}/${String(++sequence).padStart(6, '0')}`
  const make = (keyGenerator?: KeyGenerator): Promise<AttributeStorage> =>
    Promise.resolve(options.create(keyGenerator ? { keyGenerator } : {}))
  const context: SuiteContext = { make, scoped, recordsSha256: options.recordsSha256 ?? true }

  describe(`${name} conforms to the AttributeStorage contract`, () => {
    afterAll(async () => {
      await options.dispose?.()
    })

    describe('bodies round-trip byte for byte', () => {
      const text = 'héllo wörld — 日本語 🚀\n'
      const bytes = randomBytes(70_000)
      const cases: Array<[string, () => unknown, Buffer]> = [
        ['Buffer', () => Buffer.from(bytes), bytes],
        [
          'Uint8Array (a view with an offset)',
          () => new Uint8Array(Buffer.concat([Buffer.alloc(7), bytes]).buffer, 7, bytes.length),
          bytes,
        ],
        ['string (UTF-8)', () => text, Buffer.from(text, 'utf8')],
        ['Readable', () => Readable.from([bytes.subarray(0, 1000), bytes.subarray(1000)]), bytes],
        [
          'Readable in object mode with string chunks',
          () => Readable.from(['ab', 'cd']),
          Buffer.from('abcd'),
        ],
        [
          'AsyncIterable<Uint8Array>',
          () =>
            (async function* () {
              for (let offset = 0; offset < bytes.length; offset += 4096) {
                yield new Uint8Array(bytes.subarray(offset, offset + 4096))
              }
            })(),
          bytes,
        ],
        ['empty Buffer', () => Buffer.alloc(0), Buffer.alloc(0)],
        ['empty string', () => '', Buffer.alloc(0)],
        ['empty stream', () => Readable.from([]), Buffer.alloc(0)],
      ]
      for (const [label, body, expected] of cases) {
        it(label, async () => {
          const storage = await make(scoped('bodies'))
          const written = await storage.write(body() as never)
          expect(written.imported).toBe(false)
          expect(written.size).toBe(expected.length)
          expect(written.sha256).toBe(sha256Hex(expected))
          const back = await storage.read(written.key)
          expect(back.equals(expected)).toBe(true)
          const streamed = await digestOf(await storage.readStream(written.key))
          expect(streamed).toEqual({ size: expected.length, sha256: sha256Hex(expected) })
        })
      }

      it('refuses a value that is not a body, before storing anything', async () => {
        const storage = await make(scoped('bad-body'))
        for (const bad of [42, null, undefined, { data: 'x' }, [1, 2, 3]]) {
          await expect(storage.write(bad as never)).rejects.toBeInstanceOf(InvalidBodyError)
        }
        const streamOfNumbers = (async function* () {
          yield 1
        })()
        await expect(storage.write(streamOfNumbers as never)).rejects.toBeInstanceOf(
          InvalidBodyError,
        )
      })

      describeIterableProbing(context)
    })

    describeWebBodies(context)

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
        return `${run}/context/${context.entityName}-${context.attributeName}-${++sequence}`
      })
      const entity = { id: 1 }
      const written = await storage.write('x', {
        context: { entityName: 'File', attributeName: 'data', entity },
      })
      expect(written.key).toContain(`${run}/context/File-data-`)
      expect(seen[0]?.entity).toBe(entity)
    })

    it(
      `streams a large body without holding it in memory`,
      async (context) => {
        const large = options.largeBody ?? {}
        if ('skip' in large) {
          console.warn(`[${name}] large streamed body skipped: ${large.skip}`)
          context.skip()
          return
        }
        const size = large.bytes ?? 256 * MiB
        const budget = large.maxMemoryGrowth ?? 96 * MiB
        const storage = await make(scoped('large'))
        const body = generateBody(size)
        let key = ''
        let readBack = { size: 0, sha256: '' }
        const growth = await measureMemoryGrowth(async () => {
          const written = await storage.write(body.stream)
          key = written.key
          expect(written.size).toBe(size)
          readBack = await digestOf(await storage.readStream(key))
        })
        expect(readBack).toEqual(body.produced())
        expect(growth.rss, `RSS grew by ${(growth.rss / MiB).toFixed(1)} MiB`).toBeLessThan(budget)
        expect(
          growth.external,
          `Buffer memory grew by ${(growth.external / MiB).toFixed(1)} MiB`,
        ).toBeLessThan(budget)
        await storage.delete(key)
      },
      slow,
    )

    describe('byte ranges', () => {
      const content = randomBytes(1000)
      let storage: AttributeStorage
      let key: string
      const setup = async (): Promise<void> => {
        if (key) return
        storage = await make(scoped('range'))
        key = (await storage.write(content)).key
      }
      const cases: Array<[string, { start: number; end?: number }, Buffer]> = [
        ['the first byte', { start: 0, end: 0 }, content.subarray(0, 1)],
        ['the last byte', { start: 999, end: 999 }, content.subarray(999)],
        ['the middle', { start: 100, end: 199 }, content.subarray(100, 200)],
        ['an open end', { start: 990 }, content.subarray(990)],
        ['an end past the end (clamped)', { start: 995, end: 5000 }, content.subarray(995)],
      ]
      for (const [label, range, expected] of cases) {
        it(label, async () => {
          await setup()
          const got = await storage.read(key, { range })
          expect(got.equals(expected)).toBe(true)
        })
      }
      it('a start past the end is a clear error', async () => {
        await setup()
        await expect(storage.read(key, { range: { start: 1000 } })).rejects.toBeInstanceOf(
          RangeNotSatisfiableError,
        )
        await expect(
          storage.read(key, { range: { start: 5000, end: 6000 } }),
        ).rejects.toBeInstanceOf(RangeNotSatisfiableError)
      })
      it('an inverted or negative range is a clear error', async () => {
        await setup()
        await expect(storage.read(key, { range: { start: 10, end: 5 } })).rejects.toBeInstanceOf(
          RangeNotSatisfiableError,
        )
        await expect(storage.read(key, { range: { start: -1 } })).rejects.toBeInstanceOf(
          RangeNotSatisfiableError,
        )
      })
      it('a range of a missing object is not-found', async () => {
        await setup()
        await expect(
          storage.read(`${run}/range/missing`, { range: { start: 0 } }),
        ).rejects.toBeInstanceOf(ObjectNotFoundError)
      })
    })

    describeReadOptions(context)

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
      if (options.recordsSha256 ?? true) expect(stat.sha256).toBe(sha256Hex(content))
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

    it('a body that fails mid-stream rejects the write and leaves nothing', async () => {
      const key = `${run}/failing/partial`
      const storage = await make(() => key)
      await expect(storage.write(failingBody(20))).rejects.toThrow(/failed on purpose/)
      expect(await storage.exists(key)).toBe(false)
      expect(await listAll(storage, `${run}/failing/`)).toEqual([])
    })

    it('an aborted write rejects and leaves nothing', async () => {
      const key = `${run}/aborted/partial`
      const storage = await make(() => key)
      const controller = new AbortController()
      const body = (async function* () {
        for (let i = 0; i < 1000; i++) {
          if (i === 5) controller.abort()
          yield Buffer.alloc(64 * 1024, i)
          await new Promise((resolve) => setImmediate(resolve))
        }
      })()
      await expect(storage.write(body, { signal: controller.signal })).rejects.toThrow()
      expect(await storage.exists(key)).toBe(false)
    })

    it('checks the expected size and SHA-256 of a body, keeping nothing on mismatch', async () => {
      const storage = await make(scoped('expect'))
      const content = randomBytes(4096)
      const good = await storage.write(Readable.from([content]), {
        size: 4096,
        sha256: sha256Hex(content),
      })
      expect(good.sha256).toBe(sha256Hex(content))
      const before = (await listAll(storage, `${run}/expect/`)).length
      await expect(storage.write(Readable.from([content]), { size: 4000 })).rejects.toBeInstanceOf(
        IntegrityError,
      )
      await expect(storage.write(Readable.from([content]), { size: 5000 })).rejects.toBeInstanceOf(
        IntegrityError,
      )
      await expect(
        storage.write(Readable.from([content]), { sha256: sha256Hex('other') }),
      ).rejects.toBeInstanceOf(IntegrityError)
      await expect(storage.write(content, { sha256: sha256Hex('other') })).rejects.toBeInstanceOf(
        IntegrityError,
      )
      expect(await listAll(storage, `${run}/expect/`)).toHaveLength(before)
    })

    it('imports an existing object without copying it', async () => {
      const storage = await make(scoped('import'))
      const original = await storage.write('imported body')
      const before = await listAll(storage, `${run}/import/`)
      const imported = await storage.write(existingObject(original.key))
      expect(imported).toMatchObject({ key: original.key, size: 13, imported: true })
      expect(await listAll(storage, `${run}/import/`)).toEqual(before)
      await expect(storage.write(existingObject(`${run}/import/missing`))).rejects.toBeInstanceOf(
        ObjectNotFoundError,
      )
    })

    it('verifies content against the recorded SHA-256', async () => {
      const storage = await make(scoped('verify'))
      const content = randomBytes(3000)
      const { key } = await storage.write(content)
      const result = await storage.verify(key)
      expect(result.sha256).toBe(sha256Hex(content))
      expect(result.size).toBe(3000)
      expect(result.verified).toBe(options.recordsSha256 ?? true)
      if (options.recordsSha256 ?? true) {
        expect((await storage.read(key, { verify: true })).equals(content)).toBe(true)
      }
    })

    it('reports progress while writing a stream', async () => {
      const storage = await make(scoped('progress'))
      const seen: number[] = []
      await storage.write(Readable.from([Buffer.alloc(1000), Buffer.alloc(2000)]), {
        onProgress: ({ bytes }) => seen.push(bytes),
      })
      expect(seen.length).toBeGreaterThan(0)
      expect(seen.at(-1)).toBe(3000)
    })
  })
}
