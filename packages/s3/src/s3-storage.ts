import { randomUUID } from 'node:crypto'
import { tmpdir } from 'node:os'
import { pipeline, Readable, Transform, type TransformCallback } from 'node:stream'
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetBucketVersioningCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  ListObjectsCommand,
  ListObjectsV2Command,
  ListObjectVersionsCommand,
  PutObjectCommand,
  S3Client,
  UploadPartCopyCommand,
  type ObjectIdentifier,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import {
  BaseStorage,
  ConfigurationError,
  IntegrityError,
  InvalidKeyError,
  isExistingObject,
  KeyConflictError,
  ObjectNotFoundError,
  RangeNotSatisfiableError,
  runBounded,
  StorageUnavailableError,
  type Body,
  type ByteRange,
  type ListedObject,
  type NewObject,
  type ObjectStat,
  type OpenedObject,
  type WriteOptions,
  type WriteResult,
} from '@attrstore/core'
import {
  resolveS3Config,
  type ResolvedS3Config,
  type S3StorageOptions,
  type S3UrlOptions,
} from './config.js'
import {
  errorCode,
  httpStatus,
  isNotFound,
  isServerFault,
  isUnsupported,
  toStorageError,
  type ErrorContext,
} from './errors.js'
import { acquireLock } from './lock.js'
import { withContentMd5, withPayloadSha256 } from './middleware.js'
import { formatReference, parseReference } from './reference.js'
import { parseS3Url } from './url.js'
import {
  copySource,
  partRanges,
  readFirstPart,
  replayBody,
  spoolBody,
  type FirstPart,
} from './upload.js'

/** Keys under `<prefix>/.attrstore/` belong to the storage itself (capability probes). */
export const RESERVED_PREFIX = '.attrstore'

/** The metadata entry (`x-amz-meta-sha256`) holding an object's hex SHA-256. */
export const SHA256_METADATA = 'sha256'

const GiB = 1024 * 1024 * 1024
const SHA256_HEX = /^[0-9a-f]{64}$/i

/** Outcome of {@link S3Storage.abortStaleMultipartUploads}. */
export interface StaleUploadsReport {
  /** False when the server cannot list multipart uploads (nothing was done). */
  supported: boolean
  /** Unfinished uploads found under the storage's prefix. */
  found: number
  aborted: number
  /** Younger than the cut-off: left alone, they may still be running. */
  kept: number
  failed: number
}

/** What {@link S3Storage.probe} learnt about the server and bucket. */
export interface S3Capabilities {
  /** The server refuses `If-None-Match: *` overwrites (else: emulated, in-process only). */
  conditionalWrites: boolean
  /** The bucket has versioning on (references pin versions). */
  versioning: boolean
}

/** Where a reference's bytes are. */
export interface S3ObjectLocation {
  bucket: string
  /** The full S3 key, prefix included. */
  key: string
  versionId?: string
}

type UploadParams = Omit<PutObjectCommandInput, 'Body'> & {
  Bucket: string
  Key: string
  Metadata: Record<string, string>
}

interface Stored {
  versionId: string | undefined
}

interface ListPage {
  contents: Array<{ Key?: string; Size?: number; LastModified?: Date }>
  truncated: boolean
  /** v2 continuation token. */
  token?: string
  /** v1 NextMarker, when the server gives one. */
  nextMarker?: string
}

// Conditional-write support is a property of a server (and bucket): probed once per
// process, shared by every storage that talks to it.
const conditionalBySetting = new Map<string, Promise<boolean>>()
const conditionalByClient = new WeakMap<S3Client, Map<string, Promise<boolean>>>()

const BATCH_DELETE_FALLBACK = new Set([
  'MissingContentMD5',
  'InvalidDigest',
  'BadDigest',
  'InvalidRequest',
  'XAmzContentSHA256Mismatch',
  'MalformedXML',
])

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
 * - Write-once: `If-None-Match: *` where the server honours it, else a HEAD check under
 *   an in-process lock (see `conditionalWrites`).
 * - Bodies up to one part (`partSize`) go as one PutObject carrying their SHA-256 in
 *   `x-amz-meta-sha256`; larger ones stream through lib-storage's multipart `Upload`,
 *   and their SHA-256 is recorded by copying the object onto itself with new metadata.
 * - On a versioned bucket references pin the version: `key//versionId=<id>`.
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
   * The original's `s3-auto-delete`: false asks the ORM integration to keep the objects
   * that entities stop referencing. `delete()` itself always deletes.
   */
  readonly autoDelete: boolean
  /** The options as resolved against the environment. */
  readonly config: ResolvedS3Config

  /** Objects up to this size record their SHA-256 with one CopyObject (S3's limit: 5 GiB). */
  protected maxCopyObjectSize = 5 * GiB
  /** Part size of the server-side multipart copy of larger objects. */
  protected copyPartSize = 1 * GiB

  private readonly keyPrefix: string
  private readonly ownsClient: boolean
  private readonly options: S3StorageOptions
  private readonly endpointLabel: string
  private readonly scope: string
  private readonly spoolDirectory: string
  private bucketSeen = false
  private batchDelete = true
  private listV1Only = false
  private versioned: Promise<boolean> | undefined

  constructor(options: S3StorageOptions) {
    const config = resolveS3Config(options)
    super(options.keyGenerator ? { keyGenerator: options.keyGenerator } : {})
    this.options = options
    this.config = config
    this.bucket = config.bucket
    this.keyPrefix = config.keyPrefix
    this.prefix = config.keyPrefix.replace(/\/$/, '')
    this.endpoint = config.endpoint
    this.autoDelete = config.autoDelete
    this.spoolDirectory = options.spoolDirectory ?? tmpdir()
    if (options.client) {
      this.client = options.client
      this.ownsClient = false
      this.endpointLabel = 'the S3Client passed as `client`'
    } else {
      this.client = new S3Client(config.clientConfig ?? {})
      this.ownsClient = true
      this.endpointLabel =
        config.endpoint ?? `AWS (${config.region ?? 'region from the AWS profile'})`
    }
    this.scope = `${config.endpoint ?? 'aws'}|${config.region ?? ''}|${config.bucket}`
    if (options.versioning === true || options.versioning === false) {
      this.versioned = Promise.resolve(options.versioning)
    }
  }

  /**
   * A storage from a URL: `s3://bucket/prefix`, `s3+http://host:9000/bucket/prefix`,
   * `s3+https://...`, `https://s3.<region>.amazonaws.com/<bucket>/<prefix>`,
   * `https://<bucket>.s3.<region>.amazonaws.com/<prefix>` or
   * `https://<account>.r2.cloudflarestorage.com/<bucket>/<prefix>`. `options` add to (and
   * override) what the URL says. Malformed URLs fail here, with a `ConfigurationError`.
   */
  static fromUrl(url: string, options: S3UrlOptions = {}): S3Storage {
    const location = parseS3Url(
      url,
      options.strictBucketName === undefined ? {} : { strictBucketName: options.strictBucketName },
    )
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

  /** Closes the client's sockets, if the storage built the client. */
  destroy(): void {
    if (this.ownsClient) this.client.destroy()
  }

  /** Where a reference's bytes are: bucket, full key, version. */
  locate(reference: string): S3ObjectLocation {
    this.assertReference(reference)
    const { key, versionId } = parseReference(reference)
    return {
      bucket: this.bucket,
      key: this.keyPrefix + key,
      ...(versionId === undefined ? {} : { versionId }),
    }
  }

  /** Asks the server what it supports (the probes writes and listings use, run now). */
  async probe(): Promise<S3Capabilities> {
    const [conditionalWrites, versioning] = await Promise.all([
      this.nativeConditionalWrites(),
      this.isVersioned(),
    ])
    return { conditionalWrites, versioning }
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

  /** Imports pin the current version on a versioned bucket, as writes do. */
  override async write(body: Body, options?: WriteOptions): Promise<WriteResult> {
    if (!isExistingObject(body)) return super.write(body, options)
    const stat = await this.stat(body.key)
    return { key: stat.key, size: stat.size, sha256: stat.sha256, imported: true }
  }

  // ---------------------------------------------------------------- errors

  private context(operation: string, objectKey?: string, reference?: string): ErrorContext {
    return {
      operation,
      bucket: this.bucket,
      endpoint: this.endpointLabel,
      ...(objectKey === undefined ? {} : { objectKey }),
      ...(reference === undefined ? {} : { reference }),
    }
  }

  private fail(error: unknown, operation: string, objectKey?: string, reference?: string): unknown {
    return toStorageError(error, this.context(operation, objectKey, reference))
  }

  private get payer(): { RequestPayer?: 'requester' } {
    return this.config.requestPayer ? { RequestPayer: 'requester' } : {}
  }

  private get encryption(): Pick<
    PutObjectCommandInput,
    'ServerSideEncryption' | 'SSEKMSKeyId' | 'BucketKeyEnabled'
  > {
    const { serverSideEncryption, sseKmsKeyId, bucketKeyEnabled } = this.options
    return {
      ...(serverSideEncryption === undefined
        ? {}
        : {
            ServerSideEncryption:
              serverSideEncryption as PutObjectCommandInput['ServerSideEncryption'],
          }),
      ...(sseKmsKeyId === undefined ? {} : { SSEKMSKeyId: sseKmsKeyId }),
      ...(bucketKeyEnabled === undefined ? {} : { BucketKeyEnabled: bucketKeyEnabled }),
    }
  }

  /** A HEAD 404 does not say whether the key or the bucket is missing: ask, once. */
  private async notFound(reference: string, cause: unknown): Promise<ObjectNotFoundError> {
    if (!this.bucketSeen) {
      try {
        await this.client.send(new HeadBucketCommand({ Bucket: this.bucket }))
        this.bucketSeen = true
      } catch (error) {
        if (isNotFound(error) || errorCode(error) === 'NoSuchBucket') {
          throw new ConfigurationError(
            `The bucket "${this.bucket}" does not exist at ${this.endpointLabel}. ` +
              'Create it, or fix the bucket name or the endpoint (AWS_S3_ENDPOINT_URL).',
            { cause: error },
          )
        }
        // Could not tell (no s3:ListBucket...): report the object as missing.
      }
    }
    return new ObjectNotFoundError(reference, undefined, { cause })
  }

  // ---------------------------------------------------------------- capabilities

  private async nativeConditionalWrites(): Promise<boolean> {
    const setting = this.config.conditionalWrites
    if (setting !== 'auto') return setting
    let cache = conditionalBySetting
    if (!this.ownsClient) {
      cache = conditionalByClient.get(this.client) ?? new Map()
      conditionalByClient.set(this.client, cache)
    }
    const id = this.ownsClient ? this.scope : this.bucket
    let probing = cache.get(id)
    if (!probing) {
      probing = this.probeConditionalWrites()
      cache.set(id, probing)
      probing.catch(() => cache.delete(id))
    }
    return probing
  }

  /**
   * Writes a probe object twice with `If-None-Match: *`: a server that refuses the second
   * write enforces write-once itself; one that accepts it ignores the header (fauxqs,
   * s3rver, many gateways), and writes are then checked with HEAD under a lock.
   */
  private async probeConditionalWrites(): Promise<boolean> {
    const objectKey = `${this.keyPrefix}${RESERVED_PREFIX}/probe/${randomUUID()}`
    const put = () =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          Body: Buffer.alloc(0),
          ContentLength: 0,
          IfNoneMatch: '*',
          ...this.payer,
        }),
      )
    const versions: Array<string | undefined> = []
    try {
      try {
        versions.push((await put()).VersionId)
      } catch (error) {
        if (isUnsupported(error)) return false
        throw error
      }
      this.bucketSeen = true
      try {
        versions.push((await put()).VersionId)
        return false
      } catch (error) {
        const code = errorCode(error)
        const status = httpStatus(error)
        if (code === 'PreconditionFailed' || status === 412) return true
        if (code === 'ConditionalRequestConflict' || status === 409) return true
        if (isUnsupported(error) || status === 400) return false
        throw error
      }
    } catch (error) {
      throw this.fail(error, 'write (probing conditional writes)', objectKey)
    } finally {
      for (const versionId of versions.length > 0 ? versions : [undefined]) {
        await this.client
          .send(
            new DeleteObjectCommand({
              Bucket: this.bucket,
              Key: objectKey,
              ...(versionId === undefined || versionId === 'null' ? {} : { VersionId: versionId }),
              ...this.payer,
            }),
          )
          .catch(() => {})
      }
    }
  }

  private isVersioned(): Promise<boolean> {
    this.versioned ??= (async () => {
      try {
        const answer = await this.client.send(
          new GetBucketVersioningCommand({ Bucket: this.bucket }),
        )
        this.bucketSeen = true
        return answer.Status === 'Enabled' || answer.Status === 'Suspended'
      } catch (error) {
        if (isUnsupported(error)) return false
        const mapped = this.fail(error, 'GetBucketVersioning')
        if (mapped instanceof ConfigurationError && errorCode(error) !== 'NoSuchBucket') {
          throw new ConfigurationError(
            `${mapped.message} Cannot tell whether bucket "${this.bucket}" is versioned: grant ` +
              's3:GetBucketVersioning, or pass `versioning: true` or `false`.',
            { cause: error },
          )
        }
        throw mapped
      }
    })()
    this.versioned.catch(() => {
      this.versioned = undefined
    })
    return this.versioned
  }

  // ---------------------------------------------------------------- writes

  private async uploadParams(object: NewObject, objectKey: string): Promise<UploadParams> {
    const hook = this.options.uploadParameters
      ? await this.options.uploadParameters({
          key: object.key,
          objectKey,
          context: object.context,
          ...(object.contentType === undefined ? {} : { contentType: object.contentType }),
        })
      : {}
    const metadata: Record<string, string> = {}
    for (const [name, value] of Object.entries(hook.Metadata ?? {})) {
      if (name.toLowerCase() !== SHA256_METADATA) metadata[name] = value
    }
    const storageClass = hook.StorageClass ?? this.options.storageClass
    return {
      Bucket: this.bucket,
      Key: objectKey,
      ContentType: hook.ContentType ?? object.contentType ?? 'application/octet-stream',
      ...(hook.ContentDisposition === undefined
        ? {}
        : { ContentDisposition: hook.ContentDisposition }),
      ...(hook.ContentEncoding === undefined ? {} : { ContentEncoding: hook.ContentEncoding }),
      ...(hook.ContentLanguage === undefined ? {} : { ContentLanguage: hook.ContentLanguage }),
      ...(hook.CacheControl === undefined ? {} : { CacheControl: hook.CacheControl }),
      ...(hook.Expires === undefined ? {} : { Expires: hook.Expires }),
      ...(hook.Tagging === undefined ? {} : { Tagging: hook.Tagging }),
      ...(storageClass === undefined
        ? {}
        : { StorageClass: storageClass as PutObjectCommandInput['StorageClass'] }),
      Metadata: metadata,
      ...this.encryption,
      ...this.payer,
    }
  }

  protected async putObject(object: NewObject): Promise<string> {
    this.assertReference(object.key)
    const key = object.key
    const objectKey = this.keyPrefix + key
    const signal = object.signal
    let stored: Stored | undefined
    let release: (() => void) | undefined
    try {
      const params = await this.uploadParams(object, objectKey)
      const native = await this.nativeConditionalWrites()
      if (!native) {
        release = await acquireLock(`${this.scope}\0${objectKey}`)
        await this.assertAbsent(objectKey, key, signal)
      }
      if (object.bytes) {
        stored = await this.putBytes(params, object.bytes, object.digest().sha256, native, signal)
      } else {
        const first = await readFirstPart(object.stream!, this.config.partSize)
        if (first.ended) {
          const bytes = first.chunks.length === 1 ? first.chunks[0]! : Buffer.concat(first.chunks)
          stored = await this.putBytes(params, bytes, object.digest().sha256, native, signal)
        } else if (!this.config.multipart) {
          stored = await this.putSpooled(params, first, object, native, signal)
        } else {
          if (native) await this.assertAbsent(objectKey, key, signal)
          stored = await this.putMultipart(params, first, object, native)
        }
      }
      if (this.config.checkStoredSize === 'always') {
        await this.checkSize(objectKey, key, stored, object.digest().size)
      }
      signal?.throwIfAborted()
      if (stored.versionId !== undefined && stored.versionId !== 'null') {
        this.versioned ??= Promise.resolve(true)
      }
      this.bucketSeen = true
      return formatReference(key, stored.versionId)
    } catch (error) {
      // Whatever was stored under the key before the failure is ours: remove it.
      if (stored) await this.removeQuietly(objectKey, stored.versionId)
      throw this.fail(error, 'write', objectKey, key)
    } finally {
      release?.()
    }
  }

  private async assertAbsent(objectKey: string, key: string, signal?: AbortSignal): Promise<void> {
    try {
      await this.client.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: objectKey, ...this.payer }),
        signal ? { abortSignal: signal } : {},
      )
    } catch (error) {
      if (isNotFound(error)) return
      throw error
    }
    throw new KeyConflictError(key)
  }

  /** One PutObject of a body known whole, with its SHA-256 in metadata and as payload hash. */
  private async putBytes(
    params: UploadParams,
    bytes: Buffer,
    sha256: string,
    native: boolean,
    signal: AbortSignal | undefined,
  ): Promise<Stored> {
    for (let attempt = 1; ; attempt++) {
      const command = withPayloadSha256(
        new PutObjectCommand({
          ...params,
          Body: bytes,
          ContentLength: bytes.length,
          Metadata: { ...params.Metadata, [SHA256_METADATA]: sha256 },
          ...(native ? { IfNoneMatch: '*' } : {}),
        }),
        sha256,
      )
      try {
        const result = await this.client.send(command, signal ? { abortSignal: signal } : {})
        return { versionId: result.VersionId }
      } catch (error) {
        // AWS answers 409 to a conditional write racing another one in flight: the other
        // may still fail, so ask again; a 412 then settles it.
        if (errorCode(error) === 'ConditionalRequestConflict' && attempt < 4) {
          await new Promise((resolve) => setTimeout(resolve, 50 * attempt))
          continue
        }
        throw error
      }
    }
  }

  /** `multipart: false`: the body goes to a temporary file, then as one PUT of known size. */
  private async putSpooled(
    params: UploadParams,
    first: FirstPart,
    object: NewObject,
    native: boolean,
    signal: AbortSignal | undefined,
  ): Promise<Stored> {
    const spooled = await spoolBody(first, this.spoolDirectory)
    try {
      const { size, sha256 } = object.digest()
      const encodes = await this.clientMayFrameStreams()
      let command = new PutObjectCommand({
        ...params,
        Body: spooled.open(),
        ContentLength: size,
        Metadata: { ...params.Metadata, [SHA256_METADATA]: sha256 },
        ...(native ? { IfNoneMatch: '*' } : {}),
      })
      if (!encodes) command = withPayloadSha256(command, sha256)
      const result = await this.client.send(command, signal ? { abortSignal: signal } : {})
      const stored = { versionId: result.VersionId }
      try {
        await this.checkSize(params.Key, object.key, stored, size)
      } catch (error) {
        await this.removeQuietly(params.Key, stored.versionId)
        throw error
      }
      return stored
    } finally {
      await spooled.remove()
    }
  }

  /** Whether the client may send stream bodies as `aws-chunked` (its checksums are on). */
  private async clientMayFrameStreams(): Promise<boolean> {
    const setting = (this.client.config as { requestChecksumCalculation?: () => Promise<string> })
      .requestChecksumCalculation
    if (typeof setting !== 'function') return true
    return (await setting()) !== 'WHEN_REQUIRED'
  }

  /**
   * Compares the stored size with the bytes sent. A server that kept the `aws-chunked`
   * framing as data (s3rver, with the SDK's default checksums) is caught here.
   */
  private async checkSize(
    objectKey: string,
    key: string,
    stored: Stored,
    size: number,
  ): Promise<void> {
    const head = await this.client.send(
      new HeadObjectCommand({
        Bucket: this.bucket,
        Key: objectKey,
        ...(stored.versionId === undefined || stored.versionId === 'null'
          ? {}
          : { VersionId: stored.versionId }),
        ...this.payer,
      }),
    )
    if (head.ContentLength !== size) {
      throw new IntegrityError(
        key,
        `${size} bytes`,
        `${String(head.ContentLength)} bytes stored (the server probably kept the SDK's ` +
          'aws-chunked framing as data: give the S3Client requestChecksumCalculation: "WHEN_REQUIRED")',
        'size',
      )
    }
  }

  /**
   * A body larger than one part: lib-storage's `Upload` streams it in parts, `queueSize`
   * at a time; on any failure the upload is aborted (twice if need be) so no parts stay.
   * The SHA-256, known only at the end, is then recorded by a copy onto itself.
   */
  private async putMultipart(
    params: UploadParams,
    first: FirstPart,
    object: NewObject,
    native: boolean,
  ): Promise<Stored> {
    let bodyError: unknown
    const body = replayBody(first, (error) => {
      bodyError ??= error
    })
    const partSize =
      object.size === undefined
        ? this.config.partSize
        : Math.max(this.config.partSize, Math.ceil(object.size / 10_000))
    const upload = new Upload({
      client: this.client,
      params: { ...params, Body: body, ...(native ? { IfNoneMatch: '*' } : {}) },
      partSize,
      queueSize: this.config.queueSize,
      leavePartsOnError: false,
    })
    let result: { VersionId?: string | undefined }
    try {
      result = await upload.done()
    } catch (error) {
      body.destroy()
      if (upload.uploadId !== undefined) {
        // lib-storage aborts already; a second abort costs one request on a failure path
        // and covers an abort that failed, or that lost the race with a part in flight.
        await this.client
          .send(
            new AbortMultipartUploadCommand({
              Bucket: this.bucket,
              Key: params.Key,
              UploadId: upload.uploadId,
              ...this.payer,
            }),
          )
          .catch(() => {})
      } else if (bodyError === undefined && isUnsupported(error)) {
        throw new ConfigurationError(
          `The server at ${this.endpointLabel} does not support multipart uploads ` +
            `(${errorCode(error)}). Create the storage with multipart: false.`,
          { cause: error },
        )
      }
      throw bodyError ?? error
    }
    const stored: Stored = { versionId: result.VersionId }
    try {
      stored.versionId = await this.recordSha256(params, stored.versionId, object.digest())
    } catch (error) {
      await this.removeQuietly(params.Key, stored.versionId)
      throw error
    }
    return stored
  }

  /**
   * Records the SHA-256 of an object uploaded in parts by copying it onto itself with
   * `MetadataDirective: REPLACE` (server-side, no bytes through this process); past
   * `maxCopyObjectSize`, by a server-side multipart copy. On a versioned bucket the copy
   * is a new version: the first one is deleted. A server that cannot copy keeps the
   * object without a recorded hash. Returns the version id now current.
   */
  private async recordSha256(
    params: UploadParams,
    versionId: string | undefined,
    digest: { size: number; sha256: string },
  ): Promise<string | undefined> {
    const source = copySource(this.bucket, params.Key, versionId === 'null' ? undefined : versionId)
    const metadata = { ...params.Metadata, [SHA256_METADATA]: digest.sha256 }
    let newVersion: string | undefined
    try {
      if (digest.size <= this.maxCopyObjectSize) {
        const { Bucket, Key, ContentType, ContentDisposition, ContentEncoding } = params
        const copied = await this.client.send(
          new CopyObjectCommand({
            Bucket,
            Key,
            CopySource: source,
            MetadataDirective: 'REPLACE',
            Metadata: metadata,
            ContentType,
            ...(ContentDisposition === undefined ? {} : { ContentDisposition }),
            ...(ContentEncoding === undefined ? {} : { ContentEncoding }),
            ...pick(params, ['ContentLanguage', 'CacheControl', 'Expires', 'StorageClass']),
            ...this.encryption,
            ...this.payer,
          }),
        )
        newVersion = copied.VersionId
      } else {
        newVersion = await this.multipartCopy(params, source, metadata, digest.size)
      }
    } catch (error) {
      if (isUnsupported(error)) return versionId
      throw error
    }
    if (
      versionId !== undefined &&
      versionId !== 'null' &&
      newVersion !== undefined &&
      newVersion !== versionId
    ) {
      await this.client.send(
        new DeleteObjectCommand({
          Bucket: this.bucket,
          Key: params.Key,
          VersionId: versionId,
          ...this.payer,
        }),
      )
    }
    return newVersion ?? versionId
  }

  private async multipartCopy(
    params: UploadParams,
    source: string,
    metadata: Record<string, string>,
    size: number,
  ): Promise<string | undefined> {
    const { Tagging: _tagging, ...createParams } = params
    const created = await this.client.send(
      new CreateMultipartUploadCommand({ ...createParams, Metadata: metadata }),
    )
    const uploadId = created.UploadId!
    try {
      const partSize = Math.max(this.copyPartSize, Math.ceil(size / 10_000))
      const ranges = partRanges(size, partSize)
      const parts: Array<{ PartNumber: number; ETag: string | undefined }> = []
      await runBounded(
        ranges.map((range, index) => ({ range, number: index + 1 })),
        this.config.queueSize,
        async ({ range, number }) => {
          const part = await this.client.send(
            new UploadPartCopyCommand({
              Bucket: this.bucket,
              Key: params.Key,
              UploadId: uploadId,
              PartNumber: number,
              CopySource: source,
              CopySourceRange: `bytes=${range[0]}-${range[1]}`,
              ...this.payer,
            }),
          )
          parts.push({ PartNumber: number, ETag: part.CopyPartResult?.ETag })
        },
      )
      parts.sort((a, b) => a.PartNumber - b.PartNumber)
      const completed = await this.client.send(
        new CompleteMultipartUploadCommand({
          Bucket: this.bucket,
          Key: params.Key,
          UploadId: uploadId,
          MultipartUpload: { Parts: parts },
          ...this.payer,
        }),
      )
      return completed.VersionId
    } catch (error) {
      await this.client
        .send(
          new AbortMultipartUploadCommand({
            Bucket: this.bucket,
            Key: params.Key,
            UploadId: uploadId,
            ...this.payer,
          }),
        )
        .catch(() => {})
      throw error
    }
  }

  private async removeQuietly(objectKey: string, versionId: string | undefined): Promise<void> {
    await this.client
      .send(
        new DeleteObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          ...(versionId === undefined || versionId === 'null' ? {} : { VersionId: versionId }),
          ...this.payer,
        }),
      )
      .catch(() => {})
  }

  // ---------------------------------------------------------------- reads

  protected async getObject(
    reference: string,
    range: ByteRange | undefined,
    signal?: AbortSignal,
  ): Promise<OpenedObject> {
    const { key, versionId } = parseReference(reference)
    const objectKey = this.keyPrefix + key
    try {
      const answer = await this.client.send(
        new GetObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          ...(versionId === undefined ? {} : { VersionId: versionId }),
          ...(range === undefined
            ? {}
            : { Range: `bytes=${range.start}-${range.end === undefined ? '' : range.end}` }),
          ...this.payer,
        }),
        signal ? { abortSignal: signal } : {},
      )
      this.bucketSeen = true
      const body = answer.Body as Readable | undefined
      const stream = body ?? Readable.from([], { objectMode: false })
      if (range !== undefined) {
        return { stream: checkedRange(reference, range, answer, stream) }
      }
      const sha256 = recordedSha256(answer.Metadata)
      return { stream, ...(sha256 === undefined ? {} : { sha256 }) }
    } catch (error) {
      throw this.fail(error, range ? 'read (range)' : 'read', objectKey, reference)
    }
  }

  protected async statObject(reference: string): Promise<ObjectStat> {
    const { key, versionId } = parseReference(reference)
    const objectKey = this.keyPrefix + key
    let head
    try {
      head = await this.client.send(
        new HeadObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          ...(versionId === undefined ? {} : { VersionId: versionId }),
          ...this.payer,
        }),
      )
    } catch (error) {
      if (isNotFound(error)) throw await this.notFound(reference, error)
      throw this.fail(error, 'stat', objectKey, reference)
    }
    this.bucketSeen = true
    const sha256 = recordedSha256(head.Metadata)
    return {
      key: formatReference(key, head.VersionId ?? versionId),
      size: head.ContentLength ?? 0,
      ...(head.LastModified === undefined ? {} : { lastModified: head.LastModified }),
      ...(sha256 === undefined ? {} : { sha256 }),
      ...(head.ContentType === undefined ? {} : { contentType: head.ContentType }),
    }
  }

  // ---------------------------------------------------------------- deletes

  protected async deleteObject(reference: string): Promise<void> {
    const { key, versionId } = parseReference(reference)
    const objectKey = this.keyPrefix + key
    try {
      await this.client.send(
        new DeleteObjectCommand({
          Bucket: this.bucket,
          Key: objectKey,
          ...(versionId === undefined ? {} : { VersionId: versionId }),
          ...this.payer,
        }),
      )
    } catch (error) {
      if (isNotFound(error) && errorCode(error) !== 'NoSuchBucket') return
      throw this.fail(error, 'delete', objectKey, reference)
    }
  }

  /**
   * Deletes in batches of 1000 with DeleteObjects, sending `Content-MD5` (which some
   * servers demand and the SDK no longer sends). A server that refuses batch deletes
   * gets single DeleteObject calls from then on. Missing objects are not errors.
   */
  override async deleteMany(references: Iterable<string>): Promise<void> {
    const targets = new Map<string, ObjectIdentifier & { reference: string }>()
    for (const reference of references) {
      this.assertReference(reference)
      const { key, versionId } = parseReference(reference)
      const objectKey = this.keyPrefix + key
      targets.set(`${objectKey}\0${versionId ?? ''}`, {
        Key: objectKey,
        ...(versionId === undefined ? {} : { VersionId: versionId }),
        reference,
      })
    }
    const all = [...targets.values()]
    const failures: string[] = []
    for (let start = 0; start < all.length; start += 1000) {
      const batch = all.slice(start, start + 1000)
      if (!this.batchDelete) {
        await runBounded(batch, 8, (target) => this.deleteObject(target.reference))
        continue
      }
      let answer
      try {
        answer = await this.client.send(
          withContentMd5(
            new DeleteObjectsCommand({
              Bucket: this.bucket,
              Delete: {
                Objects: batch.map(({ Key, VersionId }) => ({
                  Key,
                  ...(VersionId === undefined ? {} : { VersionId }),
                })),
                Quiet: true,
              },
              ...this.payer,
            }),
          ),
        )
      } catch (error) {
        const code = errorCode(error)
        if (isUnsupported(error) || (code !== undefined && BATCH_DELETE_FALLBACK.has(code))) {
          this.batchDelete = false
          await runBounded(batch, 8, (target) => this.deleteObject(target.reference))
          continue
        }
        throw this.fail(error, `delete (batch of ${batch.length})`)
      }
      for (const problem of answer.Errors ?? []) {
        if (problem.Code === 'NoSuchKey' || problem.Code === 'NoSuchVersion') continue
        failures.push(
          `${problem.Key ?? '?'}: ${problem.Code ?? 'error'} ${problem.Message ?? ''}`.trim(),
        )
      }
    }
    if (failures.length > 0) {
      throw new StorageUnavailableError(
        `DeleteObjects on s3://${this.bucket} (${this.endpointLabel}) failed for ${failures.length} object(s): ` +
          failures.slice(0, 5).join('; ') +
          (failures.length > 5 ? '; ...' : ''),
      )
    }
  }

  // ---------------------------------------------------------------- listings

  protected async *listObjects(prefix: string): AsyncIterable<ListedObject> {
    const s3Prefix = this.keyPrefix + prefix
    if (await this.isVersioned()) yield* this.listVersions(s3Prefix)
    else yield* this.listCurrent(s3Prefix)
  }

  /** The relative key of a listed S3 key, or undefined for what is not ours to list. */
  private relativeKey(objectKey: string | undefined): string | undefined {
    if (objectKey === undefined || !objectKey.startsWith(this.keyPrefix)) return undefined
    const key = objectKey.slice(this.keyPrefix.length)
    try {
      this.assertReference(key)
      parseReference(key)
      // A key with "//" would read back as a versioned reference: not addressable.
      if (key.includes('//')) return undefined
    } catch {
      return undefined
    }
    return key
  }

  private async *listCurrent(s3Prefix: string): AsyncIterable<ListedObject> {
    let token: string | undefined
    // The last S3 key listed: where a v1 listing (Marker) goes on from.
    let lastKey: string | undefined
    let v1 = this.listV1Only
    while (true) {
      let page: ListPage
      if (!v1) {
        try {
          page = await this.listPageV2(s3Prefix, token)
        } catch (v2Error) {
          // Servers that only have ListObjects (v1), or whose v2 is broken (s3rver cannot
          // make continuation tokens on OpenSSL 3): the same page in v1, then v1 only.
          if (!isUnsupported(v2Error) && !isServerFault(v2Error)) throw this.fail(v2Error, 'list')
          try {
            page = await this.listPageV1(s3Prefix, lastKey)
          } catch {
            throw this.fail(v2Error, 'list')
          }
          v1 = this.listV1Only = true
        }
        // A v1-only server may answer a v2 request with a v1 page (no continuation token).
        if (page.truncated && page.token === undefined) v1 = this.listV1Only = true
      } else {
        try {
          page = await this.listPageV1(s3Prefix, lastKey)
        } catch (error) {
          throw this.fail(error, 'list')
        }
      }
      this.bucketSeen = true
      for (const entry of page.contents) {
        const key = this.relativeKey(entry.Key)
        if (key === undefined) continue
        yield {
          key,
          size: entry.Size ?? 0,
          ...(entry.LastModified === undefined ? {} : { lastModified: entry.LastModified }),
        }
      }
      const last = page.contents.at(-1)?.Key
      if (!page.truncated || (last === undefined && page.token === undefined)) return
      lastKey = page.nextMarker ?? last ?? lastKey
      token = page.token
    }
  }

  private async listPageV2(s3Prefix: string, token: string | undefined): Promise<ListPage> {
    const page = await this.client.send(
      new ListObjectsV2Command({
        Bucket: this.bucket,
        Prefix: s3Prefix,
        ...(token === undefined ? {} : { ContinuationToken: token }),
        ...this.payer,
      }),
    )
    return {
      contents: page.Contents ?? [],
      truncated: page.IsTruncated === true,
      ...(page.NextContinuationToken ? { token: page.NextContinuationToken } : {}),
    }
  }

  private async listPageV1(s3Prefix: string, marker: string | undefined): Promise<ListPage> {
    const page = await this.client.send(
      new ListObjectsCommand({
        Bucket: this.bucket,
        Prefix: s3Prefix,
        ...(marker === undefined ? {} : { Marker: marker }),
        ...this.payer,
      }),
    )
    return {
      contents: page.Contents ?? [],
      truncated: page.IsTruncated === true,
      ...(page.NextMarker ? { nextMarker: page.NextMarker } : {}),
    }
  }

  private async *listVersions(s3Prefix: string): AsyncIterable<ListedObject> {
    let keyMarker: string | undefined
    let versionMarker: string | undefined
    while (true) {
      let page
      try {
        page = await this.client.send(
          new ListObjectVersionsCommand({
            Bucket: this.bucket,
            Prefix: s3Prefix,
            ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
            ...(versionMarker === undefined ? {} : { VersionIdMarker: versionMarker }),
            ...this.payer,
          }),
        )
      } catch (error) {
        throw this.fail(error, 'list (versions)')
      }
      for (const version of page.Versions ?? []) {
        if (!version.IsLatest) continue
        const key = this.relativeKey(version.Key)
        if (key === undefined) continue
        yield {
          key: formatReference(key, version.VersionId),
          size: version.Size ?? 0,
          ...(version.LastModified === undefined ? {} : { lastModified: version.LastModified }),
        }
      }
      if (!page.IsTruncated) return
      keyMarker = page.NextKeyMarker
      versionMarker = page.NextVersionIdMarker
      if (keyMarker === undefined) return
    }
  }

  // ---------------------------------------------------------------- maintenance

  /**
   * Aborts the multipart uploads under the storage's prefix that were started more than
   * `olderThanMs` ago (default 24 h): what a process killed mid-upload leaves behind,
   * billed by S3 until aborted. The garbage collector calls it. Servers that cannot list
   * uploads (fauxqs, s3rver) report `supported: false`.
   */
  async abortStaleMultipartUploads(olderThanMs = 24 * 60 * 60 * 1000): Promise<StaleUploadsReport> {
    if (!(Number.isFinite(olderThanMs) && olderThanMs >= 0)) {
      throw new ConfigurationError(
        `olderThanMs must be a duration >= 0, got ${String(olderThanMs)}`,
      )
    }
    const report: StaleUploadsReport = { supported: true, found: 0, aborted: 0, kept: 0, failed: 0 }
    const cutoff = Date.now() - olderThanMs
    let keyMarker: string | undefined
    let uploadIdMarker: string | undefined
    while (true) {
      let page
      try {
        page = await this.client.send(
          new ListMultipartUploadsCommand({
            Bucket: this.bucket,
            ...(this.keyPrefix === '' ? {} : { Prefix: this.keyPrefix }),
            ...(keyMarker === undefined ? {} : { KeyMarker: keyMarker }),
            ...(uploadIdMarker === undefined ? {} : { UploadIdMarker: uploadIdMarker }),
            ...this.payer,
          }),
        )
      } catch (error) {
        if (isUnsupported(error)) return { ...report, supported: false }
        throw this.fail(error, 'ListMultipartUploads')
      }
      // A real ListMultipartUploadsResult names its bucket; fauxqs answers with an object
      // listing instead, which says nothing about uploads.
      if (page.Bucket === undefined) return { ...report, supported: false }
      for (const upload of page.Uploads ?? []) {
        if (!upload.Key?.startsWith(this.keyPrefix) || upload.UploadId === undefined) continue
        report.found++
        if (upload.Initiated === undefined || upload.Initiated.getTime() > cutoff) {
          report.kept++
          continue
        }
        try {
          await this.client.send(
            new AbortMultipartUploadCommand({
              Bucket: this.bucket,
              Key: upload.Key,
              UploadId: upload.UploadId,
              ...this.payer,
            }),
          )
          report.aborted++
        } catch (error) {
          if (isNotFound(error)) report.aborted++
          else report.failed++
        }
      }
      if (!page.IsTruncated) return report
      keyMarker = page.NextKeyMarker
      uploadIdMarker = page.NextUploadIdMarker
      if (keyMarker === undefined && uploadIdMarker === undefined) return report
    }
  }
}

/**
 * The bytes of `range` out of a ranged GetObject answer. Servers that ignore `Range`
 * (200 with everything) or answer another range than asked (s3rver sends the whole object
 * for `bytes=0-0`) are cut down here; a range that does not cover the request is an error.
 */
function checkedRange(
  reference: string,
  range: ByteRange,
  answer: { ContentRange?: string | undefined; ContentLength?: number | undefined },
  stream: Readable,
): Readable {
  let first = 0
  let last: number
  let total: number | undefined
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(answer.ContentRange ?? '')
  if (match) {
    first = Number(match[1])
    last = Number(match[2])
    total = match[3] === '*' ? undefined : Number(match[3])
  } else {
    // No Content-Range: the whole object.
    total = answer.ContentLength ?? 0
    last = total - 1
    if (range.start >= total) {
      stream.destroy()
      throw new RangeNotSatisfiableError(
        reference,
        `start ${range.start} is past the end of a ${total}-byte object`,
      )
    }
  }
  const wantedEnd = Math.min(range.end ?? Infinity, total === undefined ? last : total - 1)
  if (first === range.start && last === wantedEnd) return stream
  if (first > range.start || last < wantedEnd) {
    stream.destroy()
    throw new StorageUnavailableError(
      `The server answered bytes ${first}-${last} to a request for bytes ${range.start}-${range.end ?? ''} of ${JSON.stringify(reference)}`,
    )
  }
  return pipeline(stream, new Slice(range.start - first, wantedEnd - first), () => {})
}

function recordedSha256(metadata: Record<string, string> | undefined): string | undefined {
  const value = metadata?.[SHA256_METADATA]
  return value !== undefined && SHA256_HEX.test(value) ? value.toLowerCase() : undefined
}

function pick<T extends object, K extends keyof T>(source: T, names: K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {}
  for (const name of names) if (source[name] !== undefined) picked[name] = source[name]
  return picked
}

/** Passes bytes `start..end` (inclusive; end open when undefined) of what flows through. */
class Slice extends Transform {
  private offset = 0
  private readonly from: number
  private readonly to: number | undefined

  constructor(from: number, to: number | undefined) {
    super()
    this.from = from
    this.to = to
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const begin = Math.max(this.from - this.offset, 0)
    const stop =
      this.to === undefined ? chunk.length : Math.min(this.to - this.offset + 1, chunk.length)
    this.offset += chunk.length
    if (stop > begin) this.push(chunk.subarray(begin, stop))
    callback()
  }
}
