import { tmpdir } from 'node:os'
import { HeadObjectCommand, PutObjectCommand, type PutObjectCommandInput } from '@aws-sdk/client-s3'
import { IntegrityError, InvalidKeyError, KeyConflictError } from '@attrstore/core'
import { type NewObject } from '@attrstore/core/driver'
import { readFirstPart, spoolBody, type FirstPart } from './body.js'
import type { Capabilities } from './capabilities.js'
import { errorCode, isNotFound } from './errors.js'
import { acquireLock } from './lock.js'
import { withPayloadSha256 } from './middleware.js'
import { putMultipart, type CopyLimits, type MultipartBody } from './multipart.js'
import { formatReference, parseReference } from './reference.js'
import { removeQuietly, SHA256_METADATA, storedVersion, type S3Session } from './session.js'

/** The parameters of every upload request for one new object (all but the body). */
export type UploadParams = Omit<PutObjectCommandInput, 'Body'> & {
  Bucket: string
  Key: string
  Metadata: Record<string, string>
}

/** What a write stored: the version to pin (or to remove if the write fails later). */
export interface Stored {
  versionId: string | undefined
  /** The S3 key of the object's hash record, when one was written (`hash-record.ts`). */
  hashRecord?: string | undefined
}

/**
 * Writes new objects, never overwriting:
 * - write-once by `If-None-Match: *` where the server honours it, else a HEAD check
 *   under an in-process per-key lock (skipped for the default generator's random UUIDs);
 *   a write in parts of a key that may exist is also checked by HEAD under that lock,
 *   since some servers (Ceph RGW) ignore `If-None-Match` on CompleteMultipartUpload;
 * - a body of at most one part (bytes, or a stream that ends within one part) goes as one
 *   PutObject carrying its SHA-256; a larger one goes in parts (`multipart.ts`), or, with
 *   `multipart: false`, as one PUT (a stream spooled to disk first);
 * - whatever was stored under the key before a failure is removed.
 */
export class Writes {
  private readonly session: S3Session
  private readonly capabilities: Capabilities
  private readonly copyLimits: () => CopyLimits
  private readonly spoolDirectory: string

  constructor(session: S3Session, capabilities: Capabilities, copyLimits: () => CopyLimits) {
    this.session = session
    this.capabilities = capabilities
    this.copyLimits = copyLimits
    this.spoolDirectory = session.options.spoolDirectory ?? tmpdir()
  }

  /**
   * Stores a new object under `object.key`; returns its reference. A hash the caller gave
   * `write()` (`object.expectedSha256`) lets a multipart stream record it without a copy.
   */
  async put(object: NewObject): Promise<string> {
    const { expectedSha256 } = object
    const { session } = this
    session.assertReference(object.key)
    const key = object.key
    const objectKey = session.keyPrefix + key
    const signal = object.signal
    let stored: Stored | undefined
    let release: (() => void) | undefined
    try {
      const params = await this.uploadParams(object, objectKey)
      const native = await this.capabilities.conditionalWrites()
      // A random UUID from the default generator cannot collide in practice: the HEAD
      // check (and its lock) would cost a round trip per write for nothing. Where the
      // server refuses overwrites itself, If-None-Match still goes along: it is free.
      const keyMayExist = !object.keyIsRandom
      // The lock is taken even where the server honours If-None-Match: some (Ceph RGW)
      // ignore it on CompleteMultipartUpload, so a write in parts is only checked by HEAD,
      // which two writes of this process must not pass together.
      if (keyMayExist) release = await acquireLock(`${session.scope}\0${objectKey}`)
      if (!native && keyMayExist) await this.assertAbsent(objectKey, key, signal)
      const { partSize, multipart } = session.config
      const inParts = async (body: MultipartBody): Promise<Stored> => {
        // Fail before sending every part, not at CompleteMultipartUpload.
        if (native && keyMayExist) await this.assertAbsent(objectKey, key, signal)
        // Only a hash known at the end needs to know (record or copy). A bucket that will
        // not say (no s3:GetBucketVersioning) gets the copy, as before records existed.
        const versioned = body.sha256 === undefined && (await this.capabilities.recordsOff())
        return putMultipart(session, params, body, object, native, versioned, this.copyLimits())
      }
      if (object.bytes) {
        const { bytes } = object
        const sha256 = object.digest().sha256
        // Bytes larger than a part go in parts too (servers cap single PUTs: 5 GiB on
        // AWS, about 11 MiB on fauxqs); their SHA-256 is known, so no copy follows.
        stored =
          multipart && bytes.length > partSize
            ? await inParts({ bytes, sha256 })
            : await this.putBytes(params, bytes, sha256, native, signal)
      } else {
        const first = await readFirstPart(object.stream!, partSize)
        if (first.ended) {
          const bytes = first.chunks.length === 1 ? first.chunks[0]! : Buffer.concat(first.chunks)
          stored = await this.putBytes(params, bytes, object.digest().sha256, native, signal)
        } else if (!multipart) {
          stored = await this.putSpooled(params, first, object, native, signal)
        } else {
          // A hash given up front spares the copy that records one known only at the end.
          stored = await inParts(
            expectedSha256 === undefined ? { first } : { first, sha256: expectedSha256 },
          )
        }
      }
      if (session.config.checkStoredSize === 'always') {
        await this.checkSize(objectKey, key, stored, object.digest().size)
      }
      signal?.throwIfAborted()
      if (stored.versionId !== undefined && stored.versionId !== 'null') {
        this.capabilities.sawVersion()
      }
      session.bucketSeen = true
      return formatReference(key, stored.versionId)
    } catch (error) {
      // Whatever was stored under the key before the failure is ours: remove it.
      if (stored) await removeQuietly(session, objectKey, stored.versionId)
      if (stored?.hashRecord) await removeQuietly(session, stored.hashRecord, undefined)
      throw session.fail(error, 'write', objectKey, key)
    } finally {
      release?.()
    }
  }

  /**
   * Checks a reference given to `existingObject()` before it is imported (its HEAD, with
   * the version, follows in `stat`): a pinned version is accepted on a versioned bucket
   * only. Servers ignore a version id on an unversioned bucket (fauxqs, s3rver) and would
   * serve, and on delete remove, the key's current object: `k//versionId=x` would alias `k`.
   */
  async assertImportable(reference: string): Promise<void> {
    const { versionId } = parseReference(reference)
    if (versionId === undefined || (await this.capabilities.versioned())) return
    throw new InvalidKeyError(
      reference,
      `it pins a version, but bucket "${this.session.bucket}" is not versioned: import the key itself`,
    )
  }

  /** The request parameters of a new object: the `uploadParameters` hook, options, defaults. */
  private async uploadParams(object: NewObject, objectKey: string): Promise<UploadParams> {
    const { session } = this
    const { options } = session
    const hook = options.uploadParameters
      ? await options.uploadParameters({
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
    const storageClass = hook.StorageClass ?? options.storageClass
    return {
      Bucket: session.bucket,
      Key: objectKey,
      ContentType: hook.ContentType ?? object.contentType ?? 'application/octet-stream',
      ContentDisposition: hook.ContentDisposition,
      ContentEncoding: hook.ContentEncoding,
      ContentLanguage: hook.ContentLanguage,
      CacheControl: hook.CacheControl,
      Expires: hook.Expires,
      Tagging: hook.Tagging,
      StorageClass: storageClass as PutObjectCommandInput['StorageClass'],
      Metadata: metadata,
      ...session.encryption,
      ...session.payer,
    }
  }

  /** The emulated half of write-once: a HEAD that must answer 404 (also checks a direct upload's key). */
  async assertAbsent(objectKey: string, key: string, signal?: AbortSignal): Promise<void> {
    const { session } = this
    try {
      await session.client.send(
        new HeadObjectCommand({ Bucket: session.bucket, Key: objectKey, ...session.payer }),
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
        const result = await this.session.client.send(
          command,
          signal ? { abortSignal: signal } : {},
        )
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
      const result = await this.session.client.send(command, signal ? { abortSignal: signal } : {})
      const stored = { versionId: result.VersionId }
      try {
        await this.checkSize(params.Key, object.key, stored, size)
      } catch (error) {
        await removeQuietly(this.session, params.Key, stored.versionId)
        throw error
      }
      return stored
    } finally {
      await spooled.remove()
    }
  }

  /** Whether the client may send stream bodies as `aws-chunked` (its checksums are on). */
  private async clientMayFrameStreams(): Promise<boolean> {
    const setting = (
      this.session.client.config as { requestChecksumCalculation?: () => Promise<string> }
    ).requestChecksumCalculation
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
    const { session } = this
    const head = await session.client.send(
      new HeadObjectCommand({
        Bucket: session.bucket,
        Key: objectKey,
        ...storedVersion(stored.versionId),
        ...session.payer,
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
}
