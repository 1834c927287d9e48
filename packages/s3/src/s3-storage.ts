import {
  ConfigurationError,
  InvalidKeyError,
  type Body,
  type ByteRange,
  type DirectUpload,
  type ListedObject,
  type ObjectStat,
  type OpenedObject,
  type SignedUrl,
  type SignedUrlOptions,
  type StaleWritesOptions,
  type StaleWritesReport,
  type WriteOptions,
  type WriteResult,
} from '@attrstore/core'
import { BaseStorage, isExistingObject, type NewObject } from '@attrstore/core/driver'
import type { S3Client } from '@aws-sdk/client-s3'
import { Capabilities, type S3Capabilities } from './capabilities.js'
import { resolveS3Config, type ResolvedS3Config } from './config.js'
import type { S3StorageOptions, S3UrlOptions } from './options.js'
import { Deletes } from './deleting.js'
import { prepareDirectUpload, type S3DirectUploadOptions } from './direct-upload.js'
import { Listings } from './listing.js'
import { parseReference } from './reference.js'
import { Reads } from './reading.js'
import { RESERVED_PREFIX, S3Session } from './session.js'
import { signObjectUrl } from './signed-url.js'
import { formatS3Location, parseS3Url } from './url.js'
import { Writes } from './writing.js'

const GiB = 1024 * 1024 * 1024

/** Whether a client of the user's was given an endpoint (which it keeps out of sight). */
function isCustomEndpoint(client: S3Client): boolean {
  return (client.config as { isCustomEndpoint?: boolean } | undefined)?.isCustomEndpoint === true
}

/** Where a reference's bytes are. */
export interface S3ObjectLocation {
  bucket: string
  /** The full S3 key, prefix included. */
  key: string
  versionId?: string
}

/**
 * attrstore's storage for AWS S3 and S3-compatible servers (MinIO, Ceph RGW, R2, fauxqs,
 * s3rver, gateways): the port of cubicweb-s3storage's `S3Storage`, made write-once,
 * streaming and integrity-checked.
 *
 * ```ts
 * const storage = new S3Storage({ bucket: 'files', prefix: 'app' })
 * const storage = S3Storage.fromUrl('s3+http://localhost:9000/files/app')
 * const { key } = await storage.write(fs.createReadStream('big.iso'))
 * ```
 *
 * The class only composes; each idea has its module:
 * - `writing.ts`: write-once (`If-None-Match: *` where the server honours it, else a HEAD
 *   check under an in-process lock), one PutObject carrying the SHA-256 for bodies up to
 *   one part (`partSize`), spooling for `multipart: false`;
 * - `multipart.ts`: larger bodies through lib-storage's `Upload`, a SHA-256 known only at
 *   the end recorded in a hash record (`hash-record.ts`), or on a versioned bucket by
 *   copying the object onto itself;
 * - `reading.ts`, `deleting.ts`, `listing.ts`: GetObject/HeadObject, batch deletes with
 *   their fallback, listings with theirs and stale multipart uploads;
 * - `capabilities.ts`: what the server supports, probed once; `session.ts`: what all of
 *   them share (client, bucket, prefix, error wording).
 *
 * On a versioned bucket references pin the version: `key//versionId=<id>`.
 */
export class S3Storage extends BaseStorage {
  /** The client requests go through (yours, or one built from the options). */
  readonly client: S3Client
  readonly bucket: string
  /** The key prefix inside the bucket, without trailing "/" ("" for none). */
  readonly prefix: string
  /** The custom endpoint in use, if any (undefined: AWS, or a client of yours). */
  readonly endpoint: string | undefined
  /**
   * The original's `s3-auto-delete` (`AttributeStorage.autoDelete`). `false`: objects
   * superseded or removed by committed work are kept; uploads of rolled-back work are
   * still deleted. The ORM integration reads it; `delete()` itself always deletes.
   */
  readonly autoDelete: boolean
  /** The options as resolved against the environment. */
  readonly config: ResolvedS3Config
  /**
   * Where the objects live: `s3://<bucket>/<prefix>` on AWS,
   * `s3+http(s)://<host>[:port]/<bucket>/<prefix>` at a custom endpoint. Storages that
   * address the same objects have the same location (the ORM integration and the garbage
   * collector compare it to know whether a key is still referenced).
   */
  override readonly location: string

  /** Objects up to this size record their SHA-256 with one CopyObject (S3's limit: 5 GiB). */
  protected maxCopyObjectSize = 5 * GiB
  /** Part size of the server-side multipart copy of larger objects. */
  protected copyPartSize = 1 * GiB

  private readonly session: S3Session
  private readonly capabilities: Capabilities
  private readonly writes: Writes
  private readonly reads: Reads
  private readonly deletes: Deletes
  private readonly listings: Listings
  private destroyed = false
  /** The `sha256` option of the write in progress, for `putObject`. */

  constructor(options: S3StorageOptions) {
    const config = resolveS3Config(options)
    super(options.keyGenerator ? { keyGenerator: options.keyGenerator } : {})
    this.config = config
    this.bucket = config.bucket
    this.prefix = config.keyPrefix.replace(/\/$/, '')
    this.endpoint = config.endpoint
    this.autoDelete = config.autoDelete
    this.session = new S3Session(options, config, (reference) => this.assertReference(reference))
    this.client = this.session.client
    this.location = formatS3Location(
      config.bucket,
      this.prefix,
      config.endpoint ??
        (options.client && isCustomEndpoint(options.client) ? 'unknown' : undefined),
    )
    this.capabilities = new Capabilities(this.session)
    this.writes = new Writes(this.session, this.capabilities, () => ({
      maxCopyObjectSize: this.maxCopyObjectSize,
      copyPartSize: this.copyPartSize,
    }))
    this.reads = new Reads(this.session)
    this.deletes = new Deletes(this.session, this.capabilities)
    this.listings = new Listings(this.session, this.capabilities)
  }

  /**
   * A storage from a URL: `s3://bucket/prefix`, `s3+http://host:9000/bucket/prefix`,
   * `s3+https://...`, `https://s3.<region>.amazonaws.com/<bucket>/<prefix>`,
   * `https://<bucket>.s3.<region>.amazonaws.com/<prefix>` or
   * `https://<account>.r2.cloudflarestorage.com/<bucket>/<prefix>`. `options` add to (and
   * override) what the URL says. Malformed URLs fail here, with a `ConfigurationError`.
   */
  static fromUrl(url: string, options: S3UrlOptions = {}): S3Storage {
    const location = parseS3Url(url, { strictBucketName: options.strictBucketName })
    if (options.bucket !== undefined && options.bucket !== location.bucket) {
      throw new ConfigurationError(
        `The URL ${JSON.stringify(url)} names bucket "${location.bucket}" but options.bucket is "${options.bucket}": give one`,
      )
    }
    return new S3Storage({
      ...options,
      bucket: location.bucket,
      prefix: options.prefix ?? location.prefix,
      ...(location.endpoint !== undefined && options.endpoint === undefined
        ? { endpoint: location.endpoint }
        : {}),
      ...(location.region !== undefined && options.region === undefined
        ? { region: location.region }
        : {}),
      ...(location.forcePathStyle !== undefined && options.forcePathStyle === undefined
        ? { forcePathStyle: location.forcePathStyle }
        : {}),
    })
  }

  /**
   * Closes the client's sockets, if the storage built the client (a client of yours is
   * yours to destroy). Idempotent. The synchronous form of {@link dispose}.
   */
  destroy(): void {
    if (this.session.ownsClient && !this.destroyed) this.client.destroy()
    this.destroyed = true
  }

  /** `AttributeStorage.dispose`: {@link destroy}. */
  async dispose(): Promise<void> {
    this.destroy()
  }

  /** Where a reference's bytes are: bucket, full key, version. */
  locate(reference: string): S3ObjectLocation {
    this.assertReference(reference)
    const { objectKey, versionId } = this.session.address(reference)
    return {
      bucket: this.bucket,
      key: objectKey,
      ...(versionId === undefined ? {} : { versionId }),
    }
  }

  /** Asks the server what it supports (the probes writes and listings use, run now). */
  probe(): Promise<S3Capabilities> {
    return this.capabilities.probe()
  }

  /**
   * `AttributeStorage.versionedReferences`: false when configured with `versioning: false`
   * (and no write got a version id back), so that reference checks compare keys only.
   */
  get versionedReferences(): boolean {
    return this.capabilities.versionedReferences()
  }

  /**
   * The key a reference addresses, without its version (`a/b//versionId=x` → `a/b`): every
   * version of a key, and the key itself, may read the same bytes (a server ignores the
   * version on an unversioned bucket), so reference checks compare these.
   */
  objectKey(reference: string): string {
    this.assertReference(reference)
    return parseReference(reference).key
  }

  protected override assertReference(reference: string): string {
    const { key } = parseReference(reference)
    if (key === RESERVED_PREFIX || key.startsWith(`${RESERVED_PREFIX}/`)) {
      throw new InvalidKeyError(
        reference,
        `"${RESERVED_PREFIX}/" is reserved for the storage's own objects`,
      )
    }
    return reference
  }

  /**
   * Imports pin the current version on a versioned bucket, as writes do. A reference that
   * pins a version is checked with a HEAD of that version, and refused with an
   * `InvalidKeyError` on a bucket without versioning.
   */
  override async write(body: Body, options?: WriteOptions): Promise<WriteResult> {
    if (!isExistingObject(body)) return super.write(body, options)
    this.assertReference(body.key)
    await this.writes.assertImportable(body.key)
    const stat = await this.stat(body.key)
    return { key: stat.key, size: stat.size, sha256: stat.sha256, imported: true }
  }

  protected putObject(object: NewObject): Promise<string> {
    return this.writes.put(object)
  }

  protected getObject(
    reference: string,
    range: ByteRange | undefined,
    signal?: AbortSignal,
    withSha256?: boolean,
  ): Promise<OpenedObject> {
    return this.reads.get(reference, range, signal, withSha256)
  }

  protected statObject(reference: string): Promise<ObjectStat> {
    return this.reads.stat(reference)
  }

  protected deleteObject(reference: string): Promise<void> {
    return this.deletes.one(reference)
  }

  /**
   * Deletes in batches of 1000 with DeleteObjects, sending `Content-MD5` (which some
   * servers demand and the SDK no longer sends). A server that refuses batch deletes
   * gets single DeleteObject calls from then on. Missing objects are not errors.
   */
  override deleteMany(references: Iterable<string>): Promise<void> {
    return this.deletes.many(references)
  }

  protected listObjects(prefix: string): AsyncIterable<ListedObject> {
    return this.listings.list(prefix)
  }

  /**
   * Aborts the multipart uploads under the storage's prefix started more than
   * `olderThanMs` ago: what a process killed mid-upload leaves behind, billed by S3 until
   * aborted. The garbage collector calls it. Servers that cannot list uploads (fauxqs,
   * s3rver) report `supported: false`.
   */
  cleanStaleWrites(options: StaleWritesOptions): Promise<StaleWritesReport> {
    return this.listings.cleanStaleUploads(options)
  }

  /**
   * A presigned GET of the object `reference` addresses (its pinned version on a
   * versioned bucket), with `response-content-disposition` and `response-content-type`
   * when asked: see `signed-url.ts`. Signed locally, no request sent. `expiresIn`: 1 s to
   * 7 days.
   */
  signedUrl(reference: string, options: SignedUrlOptions): Promise<SignedUrl> {
    return signObjectUrl(this.session, reference, options)
  }

  /**
   * A direct upload of a new object under a new key from the key generator: a presigned
   * POST form whose policy the server enforces (size 0..`maxSize`, the exact key, the
   * media type), or with `directUploads: 'put'` a presigned PUT of `size` bytes. See
   * `direct-upload.ts` for what write-once rests on, and the README for which servers
   * enforce what.
   */
  createDirectUpload(options: S3DirectUploadOptions): Promise<DirectUpload> {
    return prepareDirectUpload(this.session, options, {
      newKey: (context) => this.newKey(context),
      random: this.generatesRandomKeys,
      assertAbsent: (objectKey, key) => this.writes.assertAbsent(objectKey, key),
    })
  }
}
