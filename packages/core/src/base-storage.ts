import { randomUUID } from 'node:crypto'
import { addAbortSignal, pipeline, Readable } from 'node:stream'
import { isExistingObject, normalizeBody, collectStream, type Body } from './body.js'
import type {
  AttributeStorage,
  OpenedObject,
  ByteRange,
  ListedObject,
  ObjectStat,
  ReadOptions,
  VerifyResult,
  WriteOptions,
  WriteResult,
} from './contract.js'
import {
  IntegrityError,
  KeyConflictError,
  InvalidBodyError,
  ObjectNotFoundError,
  RangeNotSatisfiableError,
} from './errors.js'
import { runBounded } from './concurrency.js'
import { DigestStream, isSha256Hex, sha256Hex, type Digest } from './integrity.js'
import {
  assertValidKey,
  assertValidPrefix,
  uuidKeyGenerator,
  type KeyContext,
  type KeyGenerator,
} from './keys.js'
import { inferredMediaTypeOf } from './media-type.js'

/** Options every storage built on {@link BaseStorage} accepts. */
export interface BaseStorageOptions {
  /** Makes the key of each new object. Default: a random UUID. */
  keyGenerator?: KeyGenerator | undefined
}

/** A new object handed to a driver by {@link BaseStorage.write}. */
export interface NewObject {
  /** The validated key to store under. */
  key: string
  /**
   * The key is a random UUID from the default generator: a collision is practically
   * impossible (122 random bits), so a driver may skip an existence check that costs a
   * request. Where refusing an existing key is free (a conditional write, a hard link),
   * drivers still refuse it.
   */
  keyIsRandom: boolean
  /** The whole body, when it was given as bytes (its digest is already known). */
  bytes?: Buffer
  /**
   * The body as a stream, when it was given as one. It hashes and counts as it flows and
   * errors (an `IntegrityError`, or the source's own error) instead of ending when the
   * body is wrong: a driver that only commits the object on a clean end keeps nothing bad.
   */
  stream?: Readable
  /** Size, when known before the body is consumed. */
  size?: number | undefined
  /** Size and SHA-256; for a stream, valid only once it has been consumed to its end. */
  digest(): Digest
  contentType?: string | undefined
  /**
   * The SHA-256 the caller announced (`WriteOptions.sha256`), lower-case. The body is
   * checked against it as it flows (a mismatch errors before the end); a driver may use it
   * up front, e.g. to record it before the upload starts.
   */
  expectedSha256?: string | undefined
  context: KeyContext
  signal?: AbortSignal | undefined
}

/**
 * The shared half of every storage: key generation, key and range validation, body
 * normalisation, hashing, import, verification. A driver subclasses it and implements
 * the six narrow `protected` methods below, nothing else.
 */
export abstract class BaseStorage implements AttributeStorage {
  protected readonly keyGenerator: KeyGenerator
  /** Unique to this instance unless a driver says where its objects live. */
  readonly location: string = `instance:${randomUUID()}`

  /** Keys come from the driver's own random generator (not the user's). */
  private readonly keysAreRandom: boolean

  /**
   * Whether every key {@link newKey} gives is a random UUID of the default generator (no
   * `keyGenerator`, no `newKey` override): a driver need not check that it is free.
   */
  protected get generatesRandomKeys(): boolean {
    return this.keysAreRandom && this.newKey === BaseStorage.prototype.newKey
  }

  /**
   * @param randomKeyGenerator the driver's default generator, used when the user gives
   *   none; it must make keys random enough that collisions never happen (a UUID v4).
   */
  constructor(
    options: BaseStorageOptions = {},
    randomKeyGenerator: KeyGenerator = uuidKeyGenerator,
  ) {
    this.keyGenerator = options.keyGenerator ?? randomKeyGenerator
    this.keysAreRandom = options.keyGenerator === undefined
  }

  /**
   * Makes the key for a new object: the port of `S3Storage.new_s3_key()`. Override it in
   * a subclass, or pass `keyGenerator`, to choose another scheme. The result is validated.
   */
  newKey(context: KeyContext): string | Promise<string> {
    return this.keyGenerator(context)
  }

  /**
   * Checks a reference read from a column before it is used. Drivers whose references
   * carry more than a key (a version id, say) override it.
   */
  protected assertReference(key: string): string {
    return assertValidKey(key)
  }

  /** Stores a new object; must fail with `KeyConflictError` if `object.key` exists, and keep nothing on failure. Returns the reference if it differs from the key. */
  protected abstract putObject(object: NewObject): Promise<string | void>
  /** Opens an object (or a range of it); must throw `ObjectNotFoundError` / `RangeNotSatisfiableError` before returning. */
  protected abstract getObject(
    key: string,
    range: ByteRange | undefined,
    signal?: AbortSignal,
    /** The caller wants the recorded SHA-256: drivers that need extra I/O for it read it only then. */
    withSha256?: boolean,
  ): Promise<OpenedObject>
  /** Must throw `ObjectNotFoundError` for a missing object. */
  protected abstract statObject(key: string): Promise<ObjectStat>
  /** Must succeed when the object does not exist. */
  protected abstract deleteObject(key: string): Promise<void>
  /** Every object under a (validated) prefix. */
  protected abstract listObjects(prefix: string): AsyncIterable<ListedObject>

  async write(body: Body, options: WriteOptions = {}): Promise<WriteResult> {
    if (isExistingObject(body)) return this.importExisting(body.key)
    const normalized = normalizeBody(body)
    const { sha256: expectedSha256, signal, onProgress } = options
    // A Blob knows its size: drivers get it as if announced. An announced size that differs
    // fails as the bytes flow, like any stream's.
    const expectedSize = options.size ?? ('size' in normalized ? normalized.size : undefined)
    let key: string
    try {
      if (expectedSha256 !== undefined && !isSha256Hex(expectedSha256)) {
        throw new InvalidBodyError(
          `options.sha256 must be 64 hex characters, got ${JSON.stringify(expectedSha256)}`,
        )
      }
      if (
        options.size !== undefined &&
        !(Number.isSafeInteger(options.size) && options.size >= 0)
      ) {
        throw new InvalidBodyError(
          `options.size must be a non-negative integer, got ${String(options.size)}`,
        )
      }
      signal?.throwIfAborted()
      key = assertValidKey(options.key ?? (await this.newKey(options.context ?? {})))
    } catch (error) {
      // The body will never be read: release it (an fs stream holds a file descriptor).
      if ('stream' in normalized) normalized.stream.destroy()
      if (body instanceof Readable) body.destroy()
      throw error
    }
    const common = {
      key,
      keyIsRandom: options.key === undefined && this.generatesRandomKeys,
      context: options.context ?? {},
      contentType: options.contentType ?? mediaTypeFromContext(options.context),
      expectedSha256: expectedSha256?.toLowerCase(),
      signal,
    }

    if ('bytes' in normalized) {
      const { bytes } = normalized
      if (expectedSize !== undefined && expectedSize !== bytes.length) {
        throw new IntegrityError(key, `${expectedSize} bytes`, `${bytes.length} bytes`, 'size')
      }
      // Hashed when first asked for: a driver that starts its I/O first (the filesystem's
      // fsync) hashes while the I/O runs.
      let digest: Digest | undefined
      const digestOf = (): Digest => (digest ??= { size: bytes.length, sha256: sha256Hex(bytes) })
      if (expectedSha256 !== undefined && expectedSha256.toLowerCase() !== digestOf().sha256) {
        throw new IntegrityError(key, expectedSha256, digestOf().sha256)
      }
      const reference = await this.store({
        ...common,
        bytes,
        size: bytes.length,
        digest: digestOf,
      })
      onProgress?.({ bytes: bytes.length, total: bytes.length })
      return { key: reference, ...digestOf(), imported: false }
    }

    const hashing = new DigestStream({
      key,
      expectedSize,
      expectedSha256,
      onProgress,
    })
    // pipeline() destroys the source when the driver stops early and forwards the source's
    // errors to `hashing`, which the driver is consuming.
    pipeline(normalized.stream, hashing, () => {})
    if (signal) addAbortSignal(signal, hashing)
    try {
      const reference = await this.store({
        ...common,
        stream: hashing,
        size: expectedSize,
        digest: () => hashing.digest,
      })
      return { key: reference, ...hashing.digest, imported: false }
    } finally {
      if (!hashing.readableEnded) hashing.destroy()
    }
  }

  /**
   * `putObject`, safe against aborts racing the driver: whether the abort lands after the
   * object was stored or while the request was in flight (the server may have stored it
   * anyway), no object is left under the key.
   */
  private async store(object: NewObject): Promise<string> {
    let reference: string
    try {
      reference = (await this.putObject(object)) ?? object.key
    } catch (error) {
      // A conflict means the key is someone else's object: never delete it.
      if (object.signal?.aborted && !(error instanceof KeyConflictError)) {
        await this.deleteObject(object.key).catch(() => {})
      }
      throw error
    }
    if (object.signal?.aborted) {
      await this.deleteObject(reference)
      object.signal.throwIfAborted()
    }
    return reference
  }

  private async importExisting(reference: string): Promise<WriteResult> {
    const stat = await this.stat(reference)
    return { key: reference, size: stat.size, sha256: stat.sha256, imported: true }
  }

  async open(key: string, options: ReadOptions = {}): Promise<OpenedObject> {
    return this.openObject(key, options, true)
  }

  async readStream(key: string, options: ReadOptions = {}): Promise<Readable> {
    return (await this.openObject(key, options, options.verify === true)).stream
  }

  private async openObject(
    key: string,
    options: ReadOptions,
    withSha256: boolean,
  ): Promise<OpenedObject> {
    this.assertReference(key)
    // null is no range, as undefined is (a column or JSON null).
    const range = options.range == null ? undefined : checkRange(key, options.range)
    if (range && options.verify) {
      throw new RangeNotSatisfiableError(
        key,
        "verify cannot be combined with a range: the recorded SHA-256 is the whole object's, " +
          'so a range cannot be checked against it. Read the whole object with verify: true, ' +
          'or the range without verify',
      )
    }
    const opened = await this.getObject(key, range, options.signal, withSha256 && !range)
    if (range) return { stream: opened.stream } // a recorded hash is the whole object's
    if (!options.verify) return opened
    const recorded =
      opened.sha256 ??
      (
        await this.stat(key).catch((error: unknown) => {
          opened.stream.destroy()
          throw error
        })
      ).sha256
    if (recorded === undefined) {
      opened.stream.destroy()
      throw new IntegrityError(
        key,
        'a recorded SHA-256',
        'none (this storage kept no hash for the object)',
      )
    }
    const checking = new DigestStream({ key, expectedSha256: recorded })
    return { stream: pipeline(opened.stream, checking, () => {}), sha256: recorded }
  }

  async read(key: string, options: ReadOptions = {}): Promise<Buffer> {
    return collectStream(await this.readStream(key, options))
  }

  async stat(key: string): Promise<ObjectStat> {
    return this.statObject(this.assertReference(key))
  }

  async exists(key: string): Promise<boolean> {
    try {
      await this.stat(key)
      return true
    } catch (error) {
      if (error instanceof ObjectNotFoundError) return false
      throw error
    }
  }

  async delete(key: string): Promise<void> {
    await this.deleteObject(this.assertReference(key))
  }

  async deleteMany(keys: Iterable<string>): Promise<void> {
    const all = [...keys].map((key) => this.assertReference(key))
    await runBounded(all, 8, (key) => this.deleteObject(key))
  }

  list(prefix = ''): AsyncIterable<ListedObject> {
    return this.listObjects(assertValidPrefix(prefix))
  }

  async verify(key: string): Promise<VerifyResult> {
    const stat = await this.stat(key)
    const hashing = new DigestStream({ key })
    const opened = await this.getObject(key, undefined, undefined, true)
    await collectInto(pipeline(opened.stream, hashing, () => {}))
    const { size, sha256 } = hashing.digest
    const recordedSha256 = opened.sha256 ?? stat.sha256
    if (recordedSha256 !== undefined && recordedSha256 !== sha256) {
      throw new IntegrityError(key, recordedSha256, sha256)
    }
    return { key, size, sha256, recordedSha256, verified: recordedSha256 !== undefined }
  }
}

/** Checks a range's shape (its bounds against the object are the driver's business). */
function checkRange(key: string, range: ByteRange): ByteRange {
  const { start, end } = range
  if (!Number.isSafeInteger(start) || start < 0) {
    throw new RangeNotSatisfiableError(
      key,
      `start must be a non-negative integer, got ${String(start)}`,
    )
  }
  if (end !== undefined && (!Number.isSafeInteger(end) || end < start)) {
    throw new RangeNotSatisfiableError(
      key,
      `end must be an integer >= start (${start}), got ${String(end)}`,
    )
  }
  return range
}

/**
 * Resolves a range against a known size, for drivers that slice themselves: clamps the end
 * and refuses a start at or past the end.
 */
export function resolveRange(
  key: string,
  range: ByteRange,
  size: number,
): { start: number; end: number } {
  if (range.start >= size) {
    throw new RangeNotSatisfiableError(
      key,
      `start ${range.start} is past the end of a ${size}-byte object`,
    )
  }
  return { start: range.start, end: Math.min(range.end ?? size - 1, size - 1) }
}

async function collectInto(stream: Readable): Promise<void> {
  for await (const chunk of stream) void chunk
}

/** The media type a write without `contentType` gets: the one its `fileName` implies, if any. */
function mediaTypeFromContext(context: KeyContext | undefined): string | undefined {
  const fileName = context?.fileName
  return fileName === undefined ? undefined : inferredMediaTypeOf(fileName)
}
