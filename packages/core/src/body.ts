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

/** Everything a storage accepts as the content of a new object. */
export type Body =
  Buffer | Uint8Array | string | Readable | AsyncIterable<Uint8Array> | ExistingObject

/** Wraps a reference so that writing it imports the existing object instead of copying. */
export function existingObject(key: string): ExistingObject {
  return Object.freeze({ [EXISTING_OBJECT]: true as const, key })
}

export function isExistingObject(value: unknown): value is ExistingObject {
  return typeof value === 'object' && value !== null && EXISTING_OBJECT in value
}

/** One-shot bodies (streams, generators) already given to a write: they cannot be read twice. */
const consumed = new WeakSet<object>()

function refuseIfConsumed(body: object): void {
  const ended = body instanceof Readable && (body.readableEnded || body.destroyed)
  if (consumed.has(body) || ended) {
    throw new InvalidBodyError(
      'This stream was already consumed (by an earlier write, or elsewhere): a stream can be stored only once. ' +
        'Pass a new stream, or a Buffer to store the same bytes again.',
    )
  }
  // A Readable or an async generator is its own iterator: reading it uses it up.
  if (
    body instanceof Readable ||
    (body as AsyncIterable<unknown>)[Symbol.asyncIterator]?.() === body
  ) {
    consumed.add(body)
  }
}

/** A body of bytes known in full, or a stream of unknown length. */
export type NormalizedBody = { bytes: Buffer } | { stream: Readable }

function isAsyncIterable(value: unknown): value is AsyncIterable<unknown> {
  return (
    typeof value === 'object' &&
    value !== null &&
    typeof (value as AsyncIterable<unknown>)[Symbol.asyncIterator] === 'function'
  )
}

async function* asByteChunks(source: AsyncIterable<unknown>): AsyncGenerator<Buffer> {
  for await (const chunk of source) {
    if (typeof chunk === 'string') yield Buffer.from(chunk, 'utf8')
    else if (chunk instanceof Uint8Array) {
      yield Buffer.isBuffer(chunk)
        ? chunk
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    } else {
      throw new InvalidBodyError(
        `A streamed body yielded a ${describe(chunk)}; streams must yield Buffer, Uint8Array or string chunks.`,
      )
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return 'null'
  if (typeof value !== 'object') return typeof value
  return value.constructor?.name ?? 'object'
}

/**
 * Turns any accepted {@link Body} (but an existing object) into bytes or a byte stream.
 * Throws {@link InvalidBodyError} for anything else.
 */
export function normalizeBody(body: unknown): NormalizedBody {
  if (typeof body === 'string') return { bytes: Buffer.from(body, 'utf8') }
  if (Buffer.isBuffer(body)) return { bytes: body }
  if (body instanceof Uint8Array) {
    return { bytes: Buffer.from(body.buffer, body.byteOffset, body.byteLength) }
  }
  if (body instanceof Readable) {
    refuseIfConsumed(body)
    if (body.readableObjectMode) {
      return { stream: Readable.from(asByteChunks(body), { objectMode: false }) }
    }
    return { stream: body }
  }
  if (isAsyncIterable(body)) {
    refuseIfConsumed(body)
    return { stream: Readable.from(asByteChunks(body), { objectMode: false }) }
  }
  throw new InvalidBodyError(
    `Cannot store a ${describe(body)}: a body must be a Buffer, Uint8Array, string, Readable, ` +
      'AsyncIterable<Uint8Array>, or existingObject(key) to import an object already stored.',
  )
}

/** Reads a whole stream into one Buffer. */
export async function collectStream(stream: AsyncIterable<unknown>): Promise<Buffer> {
  const chunks: Buffer[] = []
  for await (const chunk of asByteChunks(stream)) chunks.push(chunk)
  return Buffer.concat(chunks)
}
