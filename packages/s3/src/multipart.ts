import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CopyObjectCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  HeadObjectCommand,
  UploadPartCopyCommand,
} from '@aws-sdk/client-s3'
import { ConfigurationError, IntegrityError } from '@attrstore/core'
import { runBounded, type NewObject } from '@attrstore/core/driver'
import type { FirstPart } from './body.js'
import { errorCode, isUnsupported } from './errors.js'
import { fitsHashRecord, HASH_RECORD_METADATA, writeHashRecord } from './hash-record.js'
import { PartUpload, type CompletedUpload } from './part-upload.js'
import { removeQuietly, SHA256_METADATA, type S3Session } from './session.js'
import type { Stored, UploadParams } from './writing.js'

// Bodies larger than one part: a multipart upload in a fixed pool of part buffers
// (`part-upload.ts`), and the recording of
// their SHA-256 (known only once the last part is sent): in a hash record
// (`hash-record.ts`) on unversioned buckets, by a server-side copy on versioned ones.

/** When recording a SHA-256 by copy switches to a multipart copy, and its part size. */
export interface CopyLimits {
  /** Objects up to this size record their SHA-256 with one CopyObject (S3's limit: 5 GiB). */
  maxCopyObjectSize: number
  /** Part size of the server-side multipart copy of larger objects. */
  copyPartSize: number
}

/**
 * What goes in parts: a stream past its first part, or bytes. The SHA-256 of bytes is
 * known before the first part; a stream's only at its end, unless the caller gave it to
 * `write()` (the stream then errors before its end if the body does not match it).
 */
export type MultipartBody =
  { first: FirstPart; sha256?: string } | { bytes: Buffer; sha256: string }

/**
 * A body larger than one part: sent in parts, `queueSize` at a time, in `queueSize` part
 * buffers reused from part to part; on any failure the upload is aborted so no parts stay.
 * A SHA-256 known up front goes in CreateMultipartUpload's metadata; one known only at
 * the end goes in a hash record on an unversioned bucket (`versioned` false), else is
 * recorded by a copy of the object onto itself (the only way to change the metadata of
 * an object: S3 takes none at CompleteMultipartUpload).
 */
export async function putMultipart(
  session: S3Session,
  params: UploadParams,
  source: MultipartBody,
  object: NewObject,
  native: boolean,
  versioned: boolean,
  limits: CopyLimits,
): Promise<Stored> {
  const { config } = session
  const knownSha256 = source.sha256
  // The object says at creation where its SHA-256 will be: reads ask the record only then.
  const inRecord = knownSha256 === undefined && !versioned && fitsHashRecord(session, object.key)
  const size = 'bytes' in source ? source.bytes.length : object.size
  const partSize =
    size === undefined ? config.partSize : Math.max(config.partSize, Math.ceil(size / 10_000))
  // A stream stops on an abort by itself (it errors); bytes need the upload stopped.
  const signal = 'bytes' in source ? object.signal : undefined
  signal?.throwIfAborted()
  const metadata =
    knownSha256 === undefined
      ? inRecord
        ? { ...params.Metadata, [HASH_RECORD_METADATA]: '1' }
        : params.Metadata
      : { ...params.Metadata, [SHA256_METADATA]: knownSha256 }
  const upload = new PartUpload(session, { ...params, Metadata: metadata }, partSize, signal)
  let result: CompletedUpload
  try {
    result = await upload.send(
      'bytes' in source ? { bytes: source.bytes } : { first: source.first },
      config.queueSize,
      native,
    )
  } catch (error) {
    if (upload.uploadId !== undefined) {
      await abortUpload(session, params.Key, upload.uploadId)
    } else if (upload.bodyError === undefined && isUnsupported(error)) {
      throw new ConfigurationError(
        `The server at ${session.endpointLabel} does not support multipart uploads ` +
          `(${errorCode(error)}). Create the storage with multipart: false.`,
        { cause: error },
      )
    }
    throw upload.bodyError ?? error
  }
  const stored: Stored = { versionId: result.VersionId }
  if (knownSha256 !== undefined) {
    // The stream checked itself against the hash before it ended (so before
    // CompleteMultipartUpload); this only guards that promise.
    const { sha256 } = object.digest()
    if (sha256 === knownSha256) return stored
    await removeQuietly(session, params.Key, stored.versionId)
    throw new IntegrityError(object.key, knownSha256, sha256)
  }
  const version = stored.versionId
  if (inRecord && (version === undefined || version === 'null')) {
    try {
      const { size, sha256 } = object.digest()
      // Ceph RGW answers CompleteMultipartUpload with an empty ETag: ask for the object's.
      const etag = result.ETag || (await headEtag(session, params.Key))
      stored.hashRecord = await writeHashRecord(session, object.key, {
        etag,
        size,
        sha256,
      })
    } catch (error) {
      await removeQuietly(session, params.Key, stored.versionId)
      throw error
    }
    return stored
  }
  try {
    stored.versionId = await recordSha256(
      session,
      params,
      stored.versionId,
      object.digest(),
      limits,
    )
  } catch (error) {
    await removeQuietly(session, params.Key, stored.versionId)
    throw error
  }
  return stored
}

/** The ETag a HEAD of the object answers. */
async function headEtag(session: S3Session, objectKey: string): Promise<string | undefined> {
  const head = await session.client.send(
    new HeadObjectCommand({ Bucket: session.bucket, Key: objectKey, ...session.payer }),
  )
  return head.ETag
}

/** Aborts a multipart upload, ignoring failures (it is cleanup after another error). */
async function abortUpload(session: S3Session, objectKey: string, uploadId: string): Promise<void> {
  await session.client
    .send(
      new AbortMultipartUploadCommand({
        Bucket: session.bucket,
        Key: objectKey,
        UploadId: uploadId,
        ...session.payer,
      }),
    )
    .catch(() => {})
}

/**
 * Records the SHA-256 of an object uploaded in parts by copying it onto itself with
 * `MetadataDirective: REPLACE` (server-side, no bytes through this process); past
 * `maxCopyObjectSize`, by a server-side multipart copy. On a versioned bucket the copy
 * is a new version: the first one is deleted. A server that cannot copy keeps the
 * object without a recorded hash. Returns the version id now current.
 */
async function recordSha256(
  session: S3Session,
  params: UploadParams,
  versionId: string | undefined,
  digest: { size: number; sha256: string },
  limits: CopyLimits,
): Promise<string | undefined> {
  const source = copySource(
    session.bucket,
    params.Key,
    versionId === 'null' ? undefined : versionId,
  )
  const metadata = { ...params.Metadata, [SHA256_METADATA]: digest.sha256 }
  let newVersion: string | undefined
  try {
    if (digest.size <= limits.maxCopyObjectSize) {
      const { Bucket, Key, ContentType, ContentDisposition, ContentEncoding } = params
      const copied = await session.client.send(
        new CopyObjectCommand({
          Bucket,
          Key,
          CopySource: source,
          MetadataDirective: 'REPLACE',
          Metadata: metadata,
          ContentType,
          ContentDisposition,
          ContentEncoding,
          ...pick(params, ['ContentLanguage', 'CacheControl', 'Expires', 'StorageClass']),
          ...session.encryption,
          ...session.payer,
        }),
      )
      newVersion = copied.VersionId
    } else {
      newVersion = await multipartCopy(session, params, source, metadata, digest.size, limits)
    }
  } catch (error) {
    if (isUnsupported(error)) return versionId
    throw error
  }
  if (newVersion === undefined && versionId !== undefined && versionId !== 'null') {
    newVersion = await copiedVersion(session, params.Key, digest.sha256)
  }
  if (
    versionId !== undefined &&
    versionId !== 'null' &&
    newVersion !== undefined &&
    newVersion !== versionId
  ) {
    await session.client.send(
      new DeleteObjectCommand({
        Bucket: session.bucket,
        Key: params.Key,
        VersionId: versionId,
        ...session.payer,
      }),
    )
  }
  return newVersion ?? versionId
}

/**
 * The version a copy made, for servers that do not say (Ceph RGW 16 answers CopyObject
 * without `x-amz-version-id`): the current version, if it carries the SHA-256 just
 * recorded (the key is this write's: nobody else writes it). Undefined otherwise.
 */
async function copiedVersion(
  session: S3Session,
  objectKey: string,
  sha256: string,
): Promise<string | undefined> {
  const head = await session.client.send(
    new HeadObjectCommand({ Bucket: session.bucket, Key: objectKey, ...session.payer }),
  )
  if (head.Metadata?.[SHA256_METADATA] !== sha256) return undefined
  return head.VersionId
}

/** A server-side copy in parts (UploadPartCopy), for objects too large for CopyObject. */
async function multipartCopy(
  session: S3Session,
  params: UploadParams,
  source: string,
  metadata: Record<string, string>,
  size: number,
  limits: CopyLimits,
): Promise<string | undefined> {
  const { Tagging: _tagging, ...createParams } = params
  const created = await session.client.send(
    new CreateMultipartUploadCommand({ ...createParams, Metadata: metadata }),
  )
  const uploadId = created.UploadId!
  try {
    const partSize = Math.max(limits.copyPartSize, Math.ceil(size / 10_000))
    const ranges = partRanges(size, partSize)
    const parts: Array<{ PartNumber: number; ETag: string | undefined }> = []
    await runBounded(
      ranges.map((range, index) => ({ range, number: index + 1 })),
      session.config.queueSize,
      async ({ range, number }, stop) => {
        const part = await session.client.send(
          new UploadPartCopyCommand({
            Bucket: session.bucket,
            Key: params.Key,
            UploadId: uploadId,
            PartNumber: number,
            CopySource: source,
            CopySourceRange: `bytes=${range[0]}-${range[1]}`,
            ...session.payer,
          }),
          { abortSignal: stop },
        )
        parts.push({ PartNumber: number, ETag: part.CopyPartResult?.ETag })
      },
    )
    parts.sort((a, b) => a.PartNumber - b.PartNumber)
    const completed = await session.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: session.bucket,
        Key: params.Key,
        UploadId: uploadId,
        MultipartUpload: { Parts: parts },
        ...session.payer,
      }),
    )
    return completed.VersionId
  } catch (error) {
    await abortUpload(session, params.Key, uploadId)
    throw error
  }
}

/**
 * The `x-amz-copy-source` of an object: `bucket/key` with every key segment
 * percent-encoded (the SDK does not encode it), and the version when there is one.
 */
export function copySource(bucket: string, objectKey: string, versionId?: string): string {
  const key = objectKey.split('/').map(encodeURIComponent).join('/')
  return `${bucket}/${key}${versionId === undefined ? '' : `?versionId=${encodeURIComponent(versionId)}`}`
}

/** Byte ranges `[start, end]` (inclusive) of `size` bytes cut in parts of `partSize`. */
export function partRanges(size: number, partSize: number): Array<[number, number]> {
  const ranges: Array<[number, number]> = []
  for (let start = 0; start < size; start += partSize) {
    ranges.push([start, Math.min(start + partSize, size) - 1])
  }
  return ranges
}

function pick<T extends object, K extends keyof T>(source: T, names: K[]): Partial<Pick<T, K>> {
  const picked: Partial<Pick<T, K>> = {}
  for (const name of names) if (source[name] !== undefined) picked[name] = source[name]
  return picked
}
