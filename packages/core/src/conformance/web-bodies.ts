import { randomBytes } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { InvalidBodyError } from '../errors.js'
import { sha256Hex } from '../integrity.js'
import type { SuiteContext } from './context.js'
import { digestOf } from './fixtures.js'

/** A web `ReadableStream` of `bytes`, in chunks of `chunkSize`, that records its cancellation. */
function webStream(
  bytes: Buffer,
  chunkSize = 4096,
): { stream: ReadableStream<Uint8Array>; cancelled: () => boolean } {
  let offset = 0
  let cancelled = false
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (offset >= bytes.length) return controller.close()
      controller.enqueue(new Uint8Array(bytes.subarray(offset, offset + chunkSize)))
      offset += chunkSize
    },
    cancel() {
      cancelled = true
    },
  })
  return { stream, cancelled: () => cancelled }
}

/**
 * Web bodies, what `fetch` and web frameworks hand out: a `ReadableStream` (`Response.body`,
 * `Blob.stream()`), a `Blob` or `File`. They round-trip like Node streams; a web stream
 * already read or locked is refused with `InvalidBodyError`, before anything is stored.
 */
export function describeWebBodies({ make, scoped }: SuiteContext): void {
  describe('web bodies round-trip byte for byte', () => {
    const bytes = randomBytes(70_000)
    const cases: Array<[string, () => unknown]> = [
      ['new ReadableStream(...)', () => webStream(bytes).stream],
      ['Response.body', () => new Response(bytes).body],
      ['Blob.stream()', () => new Blob([bytes]).stream()],
      ['Blob', () => new Blob([bytes.subarray(0, 1000), bytes.subarray(1000)])],
      ['File', () => new File([bytes], 'upload.bin', { type: 'application/octet-stream' })],
    ]
    for (const [label, body] of cases) {
      it(label, async () => {
        const storage = await make(scoped('web-bodies'))
        const written = await storage.write(body() as never)
        expect(written).toMatchObject({ size: bytes.length, sha256: sha256Hex(bytes) })
        expect((await storage.read(written.key)).equals(bytes)).toBe(true)
        expect(await digestOf(await storage.readStream(written.key))).toEqual({
          size: bytes.length,
          sha256: sha256Hex(bytes),
        })
      })
    }

    it('an empty web stream and an empty Blob', async () => {
      const storage = await make(scoped('web-bodies'))
      for (const body of [webStream(Buffer.alloc(0)).stream, new Blob([])]) {
        const written = await storage.write(body)
        expect(written.size).toBe(0)
        expect((await storage.read(written.key)).length).toBe(0)
      }
    })

    it('a Blob can be stored twice; a web stream only once', async () => {
      const storage = await make(scoped('web-bodies'))
      const blob = new Blob([bytes])
      const first = await storage.write(blob)
      const second = await storage.write(blob)
      expect(second.key).not.toBe(first.key)
      expect((await storage.read(second.key)).equals(bytes)).toBe(true)
      const { stream } = webStream(bytes)
      await storage.write(stream)
      await expect(storage.write(stream)).rejects.toBeInstanceOf(InvalidBodyError)
    })

    it('a Blob whose size differs from options.size is refused', async () => {
      const storage = await make(scoped('web-bodies'))
      await expect(
        storage.write(new Blob([bytes]), { size: bytes.length + 1 }),
      ).rejects.toMatchObject({ code: 'ATTRSTORE_INTEGRITY' })
    })

    it('a locked or already read web stream is refused with InvalidBodyError', async () => {
      const storage = await make(scoped('web-bodies'))
      const locked = webStream(bytes).stream
      const reader = locked.getReader()
      await expect(storage.write(locked)).rejects.toBeInstanceOf(InvalidBodyError)
      reader.releaseLock()
      // Read from, then released: its first bytes are gone.
      const read = webStream(bytes).stream
      const partial = read.getReader()
      await partial.read()
      partial.releaseLock()
      await expect(storage.write(read)).rejects.toBeInstanceOf(InvalidBodyError)
    })

    it('a web stream given to a write refused before reading it is cancelled', async () => {
      const storage = await make(scoped('web-bodies'))
      const body = webStream(bytes)
      await expect(storage.write(body.stream, { sha256: 'not a hash' })).rejects.toBeInstanceOf(
        InvalidBodyError,
      )
      expect(body.cancelled()).toBe(true)
    })

    it('a web stream yielding something else than bytes is refused with InvalidBodyError', async () => {
      const storage = await make(scoped('web-bodies'))
      const numbers = new ReadableStream({
        pull(controller) {
          controller.enqueue(42)
          controller.close()
        },
      })
      await expect(storage.write(numbers as never)).rejects.toBeInstanceOf(InvalidBodyError)
    })

    it('a web stream that errors mid-way rejects the write', async () => {
      const storage = await make(scoped('web-bodies'))
      let sent = 0
      const failing = new ReadableStream<Uint8Array>({
        pull(controller) {
          if (sent++ === 3) controller.error(new Error('web body failed on purpose'))
          else controller.enqueue(new Uint8Array(64 * 1024).fill(sent))
        },
      })
      await expect(storage.write(failing)).rejects.toThrow(/failed on purpose/)
    })
  })
}

/** A custom async iterable is only iterated to be stored: probing it must not start an iteration. */
export function describeIterableProbing({ make, scoped }: SuiteContext): void {
  it('a reusable async iterable is iterated once per write, never just to test it', async () => {
    const storage = await make(scoped('iterable'))
    let iterations = 0
    const reusable = {
      [Symbol.asyncIterator]() {
        iterations++
        return (async function* () {
          yield Buffer.from('again and ')
          yield Buffer.from('again')
        })()
      },
    }
    const first = await storage.write(reusable)
    const second = await storage.write(reusable)
    expect(String(await storage.read(first.key))).toBe('again and again')
    expect(String(await storage.read(second.key))).toBe('again and again')
    expect(iterations).toBe(2)
  })
}
