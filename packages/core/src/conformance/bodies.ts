import { randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import { describe, expect, it } from 'vitest'
import { InvalidBodyError } from '../errors.js'
import { sha256Hex } from '../integrity.js'
import type { SuiteContext } from './context.js'
import { digestOf, generateBody, measureMemoryGrowth, MiB } from './fixtures.js'
import { describeIterableProbing } from './web-bodies.js'

/** Every kind of body round-trips byte for byte; what is no body is refused. */
export function describeBodies(context: SuiteContext): void {
  const { make, scoped } = context
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
      await expect(storage.write(streamOfNumbers as never)).rejects.toBeInstanceOf(InvalidBodyError)
    })

    describeIterableProbing(context)
  })
}

/** A large body streams through without being held; progress is reported as it flows. */
export function describeStreaming({ name, options, make, scoped, slow }: SuiteContext): void {
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

  it('reports progress while writing a stream', async () => {
    const storage = await make(scoped('progress'))
    const seen: number[] = []
    await storage.write(Readable.from([Buffer.alloc(1000), Buffer.alloc(2000)]), {
      onProgress: ({ bytes }) => seen.push(bytes),
    })
    expect(seen.length).toBeGreaterThan(0)
    expect(seen.at(-1)).toBe(3000)
  })
}
