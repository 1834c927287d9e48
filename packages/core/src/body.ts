import { Readable } from 'node:stream'
import { InvalidBodyError } from './errors.js'

const EXISTING_OBJECT = Symbol.for('attrstore.existingObject')

/**
 * A body that names an object already in the storage: writing it stores nothing and just
 * returns the reference (the port of CubicWeb's `fsimport`). Make one with
 * {@link existingObject}.
 */
export interface ExistingObject {
  readonly [EXISTING_OBJECT]: true
  readonly key: string
}

/**
 * Everything a storage accepts as the content of a new object:
 * - bytes known in full: `Buffer`, `Uint8Array`, `string` (stored as UTF-8);
 * - Node streams: `Readable` (in object mode, its chunks must be bytes or strings), any
 *   `AsyncIterable<Uint8Array>` (an async generator...);
 * - web bodies, what `fetch` and web frameworks hand out: a `ReadableStream<Uint8Array>`
 *   (`Response.body`, `Blob.stream()`) and a `Blob` or `File` (streamed, never read into
 *   memory whole; its size is checked against `WriteOptions.size` when both are given);
 * - {@link existingObject}`(key)`: imports an object already in the storage.
 *
 * Streams can be stored once: a stream already given to a write, ended, or (for a web
 * stream) locked or read from is refused with `InvalidBodyError`. Bytes and Blobs can be
 * stored again.
 */
export type Body =
  | Buffer
  | Uint8Array
  | string
  | Readable
  | AsyncIterable<Uint8Array>
  | ReadableStream<Uint8Array>
  | Blob
  | ExistingObject

/** Wraps a reference so that writing it imports the existing object instead of copying. */
export function existingObject(key: string): ExistingObject {
  return Object.freeze({ [EXISTING_OBJECT]: true as const, key })
}

export function isExistingObject(value: unknown): value is ExistingObject {
  return typeof value === 'object' && value !== null && EXISTING_OBJECT in value
}

/**
 * How a Node stream wraps an iterable body: it asks the iterable for the next chunk only
 * when its reader wants one (no read-ahead buffer), so a write stopped early (a size
 * limit, an abort) has pulled no more than one chunk past what it read.
 */
const PULLED_ON_DEMAND = { objectMode: false, highWaterMark: 0 } as const

/** One-shot bodies (streams, generators) already given to a write: they cannot be read twice. */
const consumed = new WeakSet<object>()

function refuseIfConsumed(body: object, used: boolean): void {
  if (consumed.has(body) || used) {
    throw new InvalidBodyError(
      'This stream was already consumed (by an earlier write, or elsewhere): a stream can be stored only once. ' +
        'Pass a new stream, or a Buffer to store the same bytes again.',
    )
  }
  // A Readable, a web stream or an async generator (an iterable that is its own iterator,
  // with a `next`) is used up by reading it. Iterables that make a new iterator each time
  // can be stored again: they are not asked for an iterator just to find out.
  if (
    body instanceof Readable ||
    body instanceof ReadableStream ||
    typeof (body as { next?: unknown }).next === 'function'
  ) {
    consumed.add(body)
  }
}

/** A body of bytes known in full, or a stream (with its size when known in advance). */
export type NormalizedBody = { bytes: Buffer } | { stream: Readable; size?: number }

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  )
}

/** One chunk of a streamed body as a Buffer; anything but bytes or a string is refused. */
function byteChunk(chunk: unknown): Buffer {
  if (typeof chunk === 'string') return Buffer.from(chunk, 'utf8')
  if (Buffer.isBuffer(chunk)) return chunk
  if (chunk instanceof Uint8Array) {
    return Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
  }
  throw new InvalidBodyError(
    `A streamed body yielded a ${describe(chunk)}; streams must yield Buffer, Uint8Array or string chunks.`,
  )
}

async function* asByteChunks(source: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  for await (const chunk of source) yield byteChunk(chunk)
}

/**
 * A Node stream of a web stream's bytes. The web stream is locked at once (a second write
 * of it is refused), and cancelled when the Node stream is destroyed before its end (a
 * write refused before reading, a driver stopping early): a `fetch` body lets its
 * connection go.
 */
function fromWebStream(web: ReadableStream<unknown>): Readable {
  const reader = web.getReader()
  return new Readable({
    read() {
      reader
        .read()
        .then(
          ({ done, value }) => {
            if (done) this.push(null)
            else this.push(byteChunk(value))
          },
          (error: unknown) => this.destroy(error as Error),
        )
        .catch((error: unknown) => this.destroy(error as Error))
    },
    destroy(error, callback) {
      reader.cancel(error ?? undefined).then(
        () => callback(error),
        () => callback(error),
      )
    },
  })
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value !== 'object') return typeof value
  return value.constructor?.name ?? 'object'
}

/**
 * Turns any accepted {@link Body} (but an existing object) into bytes or a byte stream,
 * without reading a stream. Throws {@link InvalidBodyError} for anything else, and for a
 * stream that was already consumed.
 */
export function normalizeBody(body: unknown): NormalizedBody {
  if (typeof body === 'string') return { bytes: Buffer.from(body, 'utf8') }
  if (Buffer.isBuffer(body)) return { bytes: body }
  if (body instanceof Uint8Array) {
    return { bytes: Buffer.from(body.buffer, body.byteOffset, body.byteLength) }
  }
  if (body instanceof Readable) {
    refuseIfConsumed(body, body.readableEnded || body.destroyed)
    if (body.readableObjectMode) {
      return { stream: Readable.from(asByteChunks(body), PULLED_ON_DEMAND) }
    }
    return { stream: body }
  }
  if (body instanceof ReadableStream) {
    refuseIfConsumed(body, body.locked || Readable.isDisturbed(body as never))
    return { stream: fromWebStream(body) }
  }
  if (body instanceof Blob) return { stream: fromWebStream(body.stream()), size: body.size }
  if (isAsyncIterable(body)) {
    refuseIfConsumed(body, false)
    return { stream: Readable.from(asByteChunks(body), PULLED_ON_DEMAND) }
  }
  throw new InvalidBodyError(
    `Cannot store a ${describe(body)}: a body must be a Buffer, Uint8Array, string, Readable, ` +
      'AsyncIterable<Uint8Array>, ReadableStream, Blob, or existingObject(key) to import an object already stored.',
  )
}

/** Reads a whole stream into one Buffer. */
export async function collectStream(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of asByteChunks(stream)) chunks.push(chunk)
  return Buffer.concat(chunks)
}
