import type { Readable } from 'node:stream'
import type { Body } from './body.js'
import type { KeyContext } from './keys.js'

/** An inclusive byte range, as in HTTP's `Range: bytes=start-end`. */
export interface ByteRange {
  /** First byte, zero-based. Must be below the object's size. */
  start: number
  /** Last byte, inclusive. Omitted: up to the end. Past the end: clamped to the end. */
  end?: number
}

/** What a storage knows about one stored object. */
export interface ObjectStat {
  /** The reference, as kept in the column. */
  key: string
  /** Size in bytes. */
  size: number
  /** When the object was written, when the backend tells. */
  lastModified?: Date
  /** Hex SHA-256 of the content, when the storage records it. */
  sha256?: string
  /** Media type recorded with the object, when any. */
  contentType?: string
}

/** One entry of {@link AttributeStorage.list}. */
export interface ListedObject {
  key: string
  size: number
  lastModified?: Date
}

/** Progress of a write, reported as bytes flow. */
export interface WriteProgress {
  /** Bytes consumed from the body so far. */
  bytes: number
  /** Total size, when known in advance. */
  total?: number
}

export interface WriteOptions {
  /** Who the object is for: passed to the key generator. */
  context?: KeyContext | undefined
  /**
   * Store under exactly this key instead of a generated one: for a key handed out in
   * advance (a direct upload's). Write-once all the same: `KeyConflictError` if it is taken.
   */
  key?: string | undefined
  /**
   * Media type recorded with the object where the backend can keep one. Default: the type
   * registered for the extension of `context.fileName` (see `mediaTypeOf`), if any.
   */
  contentType?: string | undefined
  /**
   * Expected size in bytes. A streamed body that turns out longer or shorter is refused
   * with an `IntegrityError` and nothing is kept.
   */
  size?: number | undefined
  /** Expected hex SHA-256. A mismatch is refused with an `IntegrityError` and nothing is kept. */
  sha256?: string | undefined
  /** Aborting rejects the write and removes whatever was partly stored. */
  signal?: AbortSignal | undefined
  /** Called as the body is consumed. */
  onProgress?: ((progress: WriteProgress) => void) | undefined
}

/** The result of a write: what to keep in the column, and what was stored. */
export interface WriteResult {
  /** The reference to keep in the column. */
  key: string
  size: number
  /** Hex SHA-256 of what was stored (or, on import, what the storage recorded, if anything). */
  sha256: string | undefined
  /** True when the body was an existing object: nothing was copied. */
  imported: boolean
}

export interface ReadOptions {
  /** Only these bytes. `null` or `undefined`: the whole object. */
  range?: ByteRange | null
  /**
   * Check the content against the recorded SHA-256 while reading. The stream errors with
   * an `IntegrityError` at its end on mismatch. Whole reads only: with a `range`, the read
   * is refused with a `RangeNotSatisfiableError` (the recorded hash is the whole object's).
   */
  verify?: boolean
  signal?: AbortSignal
}

/** An object opened for reading. */
export interface OpenedObject {
  /** The content (or the requested range), streamed. */
  stream: Readable
  /**
   * The SHA-256 the storage recorded at write time, when it keeps one and tells it in the
   * same request (S3 does, in the object's metadata); never for a range.
   */
  sha256?: string
}

/** An object read whole by {@link AttributeStorage.readWhole}. */
export interface WholeObject {
  /** The whole content, in a Buffer of its own that the caller owns. */
  bytes: Buffer
  /** The SHA-256 the storage recorded at write time, when it keeps one (as `open` tells it). */
  sha256?: string
}

/** Outcome of {@link AttributeStorage.verify}. */
export interface VerifyResult {
  key: string
  size: number
  /** The hash computed from the stored bytes. */
  sha256: string
  /** The hash the storage recorded at write time, when it keeps one. */
  recordedSha256: string | undefined
  /** True when a recorded hash existed and matched. False when none was recorded. */
  verified: boolean
}

/**
 * The contract every attrstore storage implements: a write-once object store addressed by
 * the references kept in database columns.
 *
 * Guarantees every implementation must give (checked by the conformance suite in
 * `@attrstore/core/conformance`):
 * - a write never overwrites: it stores under a new key, or fails with `KeyConflictError`;
 * - a failed or aborted write leaves nothing readable under its key;
 * - reading a missing object fails with `ObjectNotFoundError`, never an empty result;
 * - delete is idempotent;
 * - a key can never address anything outside the storage's namespace.
 */
export interface AttributeStorage {
  /**
   * Where the objects live, e.g. `file:///var/lib/files` or `s3://bucket/prefix` at an
   * endpoint. Two storages with the same location address the same objects: code that must
   * know whether a key is still referenced (the TypeORM integration, the garbage collector)
   * compares locations, not storage objects.
   */
  readonly location: string
  /**
   * `false`: objects superseded or removed by committed work are kept (a versioned bucket,
   * a retention policy, the original cube's `s3-auto-delete: false`); uploads of work that
   * rolled back are still deleted. Default true. `delete()` itself always deletes.
   */
  readonly autoDelete?: boolean | undefined
  /**
   * The key of the object `reference` addresses, without what only picks a version of it:
   * on a versioned S3 bucket `a/b.pdf//versionId=3L4` gives `a/b.pdf`. References with the
   * same object key may address the same bytes (a server that ignores an unknown version
   * on an unversioned bucket serves the key's object), so code that decides whether an
   * object is still referenced (the TypeORM integration) compares object keys. A reference
   * is its object key, or its object key followed by `//` and a qualifier (keys never hold
   * `//`). Omitted: every reference is its own object key. Throws `InvalidKeyError` for
   * what is no reference of this storage.
   */
  objectKey?(reference: string): string
  /**
   * Whether a reference of this storage may carry a version (a qualifier after its object
   * key, see {@link objectKey}). `false` declares that every reference is its own object
   * key: code that decides whether an object is still referenced then compares references
   * only (an index lookup), without looking for other references of the same object.
   * Omitted: true when {@link objectKey} is given (S3Storage declares `false` when
   * configured with `versioning: false`).
   */
  readonly versionedReferences?: boolean | undefined
  /**
   * Stores `body` under a new key and returns the reference to keep in the column. An
   * {@link ExistingObject} body imports an object already in the storage: nothing is copied.
   */
  write(body: Body, options?: WriteOptions): Promise<WriteResult>
  /** The whole content, in memory. */
  read(key: string, options?: ReadOptions): Promise<Buffer>
  /** The content as a stream, never buffered whole. */
  readStream(key: string, options?: ReadOptions): Promise<Readable>
  /** Like `readStream`, with what the storage recorded about the object (its SHA-256), in one request. */
  open(key: string, options?: ReadOptions): Promise<OpenedObject>
  /** Metadata of one object. */
  stat(key: string): Promise<ObjectStat>
  /** Whether an object exists under `key`. */
  exists(key: string): Promise<boolean>
  /** Deletes an object. Deleting a missing object is not an error. */
  delete(key: string): Promise<void>
  /** Deletes many objects, idempotently. */
  deleteMany(keys: Iterable<string>): Promise<void>
  /** Every object whose key starts with `prefix`, in no guaranteed order, streamed. */
  list(prefix?: string): AsyncIterable<ListedObject>
  /** Re-reads an object and checks it against its recorded SHA-256. */
  verify(key: string): Promise<VerifyResult>

  // Optional capabilities. A storage declares the ones it has; code that uses one checks
  // for its presence (`if (storage.cleanStaleWrites)`) and never for a class. The
  // conformance suite checks each where a storage has it. A wrapper forwards only the
  // capabilities its wrapped storage has.

  /**
   * Removes the leftovers of interrupted writes (a crash, a kill) older than
   * `olderThanMs`: what a storage accumulates that no reference will ever name (the
   * filesystem's temporary files, S3's unfinished multipart uploads). Committed objects
   * are never touched, whatever their age. The garbage collector calls it.
   * Throws `ConfigurationError` for an `olderThanMs` that is no duration >= 0.
   */
  cleanStaleWrites?(options: StaleWritesOptions): Promise<StaleWritesReport>
  /**
   * The whole content and the SHA-256 recorded for it, in one call: what `open` and
   * collecting its stream give, without the stream and the copy of its chunks into one
   * Buffer. For eager loads, where the whole object is wanted in memory anyway. Throws as
   * `read` does (`ObjectNotFoundError` for a missing object).
   */
  readWhole?(key: string): Promise<WholeObject>
  /**
   * Releases what the storage holds (sockets of a client it built itself, never one
   * given to it). Idempotent. The storage is not to be used afterwards.
   */
  dispose?(): Promise<void>
  /**
   * A URL anyone can GET the object from until it expires, without credentials: to hand
   * a download to a browser without streaming it through the application.
   */
  signedUrl?(key: string, options: SignedUrlOptions): Promise<SignedUrl>
  /**
   * Prepares an upload a client (a browser) sends straight to the backend: the returned
   * `key` is the reference the upload will create (write-once: the upload cannot
   * overwrite anything), and the backend refuses bodies over `maxSize`.
   */
  createDirectUpload?(options: DirectUploadOptions): Promise<DirectUpload>
}

/** Options of {@link AttributeStorage.cleanStaleWrites}. */
export interface StaleWritesOptions {
  /** Only leftovers older than this many milliseconds go: younger writes may still be running. */
  olderThanMs: number
  /** Count what would be removed, remove nothing. */
  dryRun?: boolean
  signal?: AbortSignal
}

/** Outcome of {@link AttributeStorage.cleanStaleWrites}. */
export interface StaleWritesReport {
  /** What the leftovers are, for reports: `'temporary files'`, `'multipart uploads'`... */
  kind: string
  /** False when the backend cannot list its leftovers (fauxqs, s3rver): nothing was done. */
  supported: boolean
  /**
   * Leftovers found: `removed + kept + failed` in a real run; in a dry run, `found - kept`
   * is what a real run would remove.
   */
  found: number
  /** Removed (0 in a dry run). */
  removed: number
  /** Younger than the cut-off: left alone, they may still be running. */
  kept: number
  /** Could not be removed (0 in a dry run). */
  failed: number
  /** Bytes removed, when the storage can tell. */
  bytes?: number
}

/** Options of {@link AttributeStorage.signedUrl}. */
export interface SignedUrlOptions {
  /** Seconds the URL stays valid. */
  expiresIn: number
  /** The `Content-Disposition` the response carries: shown in the browser, or saved. */
  disposition?: 'inline' | 'attachment'
  /** The file name in the `Content-Disposition`. */
  fileName?: string
  /** The `Content-Type` the response carries, whatever was recorded. */
  contentType?: string
}

/** A URL that serves one object until it expires. */
export interface SignedUrl {
  url: string
  expiresAt: Date
}

/** Options of {@link AttributeStorage.createDirectUpload}. */
export interface DirectUploadOptions {
  /** Who the object is for: passed to the key generator. */
  context?: KeyContext
  /** Largest body in bytes the backend accepts. */
  maxSize: number
  /** The media type the upload must carry. */
  contentType?: string
  /** Seconds the upload stays possible. */
  expiresIn: number
}

/** How a client sends a direct upload. */
export interface DirectUpload {
  /** The reference the upload will create (keep it in the column once the upload is done). Write-once. */
  key: string
  method: 'POST' | 'PUT'
  url: string
  /** For `POST`: the form fields to send, in this order, with the file field last. */
  fields?: Record<string, string>
  /** Headers the request must carry. */
  headers?: Record<string, string>
  expiresAt: Date
}

export type { Body } from './body.js'
