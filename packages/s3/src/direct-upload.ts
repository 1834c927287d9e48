import { PutObjectCommand } from '@aws-sdk/client-s3'
import { createPresignedPost } from '@aws-sdk/s3-presigned-post'
import { getSignedUrl } from '@aws-sdk/s3-request-presigner'
import {
  ConfigurationError,
  type DirectUpload,
  type DirectUploadOptions,
  type KeyContext,
} from '@attrstore/core'
import { assertValidKey, inferredMediaTypeOf } from '@attrstore/core/driver'
import { assertMediaType } from './media-type-option.js'
import { assertCanSign, presignedSeconds, signingNow, withoutChecksums } from './presigning.js'
import type { S3Session } from './session.js'

/**
 * How {@link S3Storage.createDirectUpload} lets clients upload: `'post'` (default) a
 * browser form (S3's POST Object) whose signed policy the server enforces, `'put'` a
 * presigned PutObject for servers without POST (Cloudflare R2...), signing the exact
 * `Content-Length` (then `size` is required).
 */
export type DirectUploadMethod = 'post' | 'put'

/** Options of {@link S3Storage.createDirectUpload}. */
export interface S3DirectUploadOptions extends DirectUploadOptions {
  /**
   * With `directUploads: 'put'`, the exact size in bytes of the body (at most `maxSize`):
   * signed as its `Content-Length`, the only size limit a presigned PUT can carry.
   * Required there; with POST, the policy's `content-length-range` does the job and
   * `size` is ignored.
   */
  size?: number
}

/** Where new keys come from, and how a key that may exist is checked. */
export interface KeySource {
  /** The storage's key generator (`newKey`), as `write()` uses it. */
  newKey(context: KeyContext): string | Promise<string>
  /** The keys are the default generator's random UUIDs: no check needed. */
  random: boolean
  /** Throws `KeyConflictError` when an object exists under `objectKey`. */
  assertAbsent(objectKey: string, key: string): Promise<void>
}

/** The signed form fields of server-side encryption and storage class, as options set them. */
function objectFields(session: S3Session): Record<string, string> {
  const { serverSideEncryption, sseKmsKeyId, bucketKeyEnabled, storageClass } = session.options
  const fields: Record<string, string> = {}
  if (serverSideEncryption !== undefined) {
    fields['x-amz-server-side-encryption'] = serverSideEncryption
  }
  if (sseKmsKeyId !== undefined) fields['x-amz-server-side-encryption-aws-kms-key-id'] = sseKmsKeyId
  if (bucketKeyEnabled !== undefined) {
    fields['x-amz-server-side-encryption-bucket-key-enabled'] = String(bucketKeyEnabled)
  }
  if (storageClass !== undefined) fields['x-amz-storage-class'] = storageClass
  return fields
}

function methodOf(session: S3Session): DirectUploadMethod {
  const method = session.options.directUploads ?? 'post'
  if (method !== 'post' && method !== 'put') {
    throw new ConfigurationError(`directUploads must be "post" or "put", got ${String(method)}`)
  }
  return method
}

function byteCount(value: unknown, what: string): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < 0) {
    throw new ConfigurationError(
      `${what} must be a byte count (an integer >= 0), got ${String(value)}`,
    )
  }
  return value
}

/**
 * Prepares a direct upload of a new object (see `S3Storage.createDirectUpload`): a new
 * key from the storage's generator, and a presigned POST form (or PUT) the server
 * refuses past `expiresAt`, over `maxSize` bytes, under another key, or with another
 * media type.
 *
 * Write-once rests on the key being new: S3's POST Object takes no `If-None-Match`, so
 * nothing stops an upload from replacing an object that appears under its key later. The
 * default generator's keys are random UUIDs (122 random bits); a key of your generator is
 * checked absent (a HEAD) when the upload is prepared, which leaves the window up to
 * `expiresAt`. The presigned PUT signs `If-None-Match: *` as well, which servers that
 * honour it (AWS, MinIO, Ceph RGW on unversioned buckets) enforce. Until `expiresAt` the
 * client holding the form may send it again, replacing its own upload (on a versioned
 * bucket: adding a version): keep `expiresIn` short.
 *
 * Nothing records a SHA-256 at upload time: S3 computes none a policy could require, and
 * a hash the client sent as metadata would be its word, not a check. `stat().sha256` is
 * undefined for such objects, and `verify()` reports `verified: false`.
 */
export async function prepareDirectUpload(
  session: S3Session,
  options: S3DirectUploadOptions,
  keys: KeySource,
): Promise<DirectUpload> {
  assertCanSign(session, 'createDirectUpload')
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError(
      'createDirectUpload needs options: { maxSize, expiresIn } at least',
    )
  }
  const method = methodOf(session)
  const expiresIn = presignedSeconds(options.expiresIn)
  const maxSize = byteCount(options.maxSize, 'maxSize')
  const context = options.context ?? {}
  const contentType =
    options.contentType === undefined
      ? ((context.fileName === undefined ? undefined : inferredMediaTypeOf(context.fileName)) ??
        'application/octet-stream')
      : assertMediaType(options.contentType, 'contentType')
  let size: number | undefined
  if (method === 'put') {
    size = byteCount(options.size, 'size (the exact body size a presigned PUT signs)')
    if (size > maxSize) {
      throw new ConfigurationError(`size (${size}) is over maxSize (${maxSize})`)
    }
  }
  const key = session.assertReference(assertValidKey(await keys.newKey(context)))
  const objectKey = session.keyPrefix + key
  if (!keys.random) await keys.assertAbsent(objectKey, key)
  const signingDate = signingNow()
  const expiresAt = new Date(signingDate.getTime() + expiresIn * 1000)
  const fields = { 'Content-Type': contentType, ...objectFields(session) }

  if (method === 'post') {
    const post = await createPresignedPost(session.client, {
      Bucket: session.bucket,
      Key: objectKey,
      // 0 allowed: write() stores empty bodies too, and an empty file is a file.
      Conditions: [['content-length-range', 0, maxSize]],
      // Each field is also an exact-match condition of the policy (the presigner adds them).
      Fields: fields,
      Expires: expiresIn,
    })
    return { key, method: 'POST', url: post.url, fields: post.fields, expiresAt }
  }

  const command = withoutChecksums(
    new PutObjectCommand({
      Bucket: session.bucket,
      Key: objectKey,
      ContentLength: size,
      ContentType: contentType,
      IfNoneMatch: '*',
      ...session.encryption,
      ...(session.options.storageClass === undefined
        ? {}
        : {
            StorageClass: session.options.storageClass as PutObjectCommand['input']['StorageClass'],
          }),
      ...session.payer,
    }),
  )
  const headers: Record<string, string> = { 'if-none-match': '*' }
  for (const [name, value] of Object.entries(fields)) headers[name.toLowerCase()] = value
  const url = await getSignedUrl(session.client, command, {
    expiresIn,
    signingDate,
    // Signed as headers, not hoisted into the query: the server compares what is sent.
    signableHeaders: new Set(['content-length', 'content-type', 'if-none-match']),
    unhoistableHeaders: new Set(Object.keys(headers).filter((name) => name.startsWith('x-amz-'))),
  })
  return { key, method: 'PUT', url, headers, expiresAt }
}
