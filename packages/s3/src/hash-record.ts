import { HeadObjectCommand, PutObjectCommand } from '@aws-sdk/client-s3'
import { isNotFound } from './errors.js'
import { recordedSha256, RESERVED_PREFIX, SHA256_METADATA, type S3Session } from './session.js'

// The SHA-256 of a body streamed in parts, known only once its last part is read, when the
// object's metadata (fixed at CreateMultipartUpload) can no longer take it: recorded in a
// small object of the storage's own, `<prefix>/.attrstore/sha256/<key>`, instead of by a
// server-side copy of the whole object onto itself (a fifth of a 1 GiB upload's time).
//
// - The object says so itself: CreateMultipartUpload gives it the metadata entry
//   `sha256-record: 1`, so reads and stats of every other object cost nothing more.
// - The record names the object it was written for (its ETag and size): a record that
//   outlived its object (deleted by someone else, the key written again) is not trusted.
// - Deletes remove it with the object, in the same DeleteObjects; listings (so `gc` and
//   `verify`) never see the reserved prefix.
// - Unversioned buckets only: on a versioned bucket the record would be versioned too, and
//   deleting it without leaving a noncurrent version needs its version id, which nothing
//   immutable can carry. There the copy stays (it makes the version a reference pins).

/** The metadata entry that says an object's SHA-256 is in its hash record. */
export const HASH_RECORD_METADATA = 'sha256-record'

/** S3's limit on key length (UTF-8 bytes). */
const MAX_KEY_BYTES = 1024

/** The metadata entries of the record: which object it is for. */
const ETAG_METADATA = 'object-etag'
const SIZE_METADATA = 'object-size'

/** The S3 key of the hash record of the object `key` (relative to the prefix). */
export function hashRecordKey(session: S3Session, key: string): string {
  return `${session.keyPrefix}${RESERVED_PREFIX}/sha256/${key}`
}

/** Whether `key`'s record key stays within S3's key length (else the copy records the hash). */
export function fitsHashRecord(session: S3Session, key: string): boolean {
  return Buffer.byteLength(hashRecordKey(session, key)) <= MAX_KEY_BYTES
}

/** Whether an object's metadata says its SHA-256 is in its hash record. */
export function hasHashRecord(metadata: Record<string, string> | undefined): boolean {
  return metadata?.[HASH_RECORD_METADATA] === '1'
}

/** An ETag as a bare token (servers differ on quoting it). */
function bareEtag(etag: string | undefined): string {
  return (etag ?? '').replace(/^W\//, '').replace(/"/g, '')
}

/**
 * Writes the hash record of the object `key` just completed (`etag`, `size`): an empty
 * object whose metadata holds the SHA-256. Returns the record's S3 key.
 */
export async function writeHashRecord(
  session: S3Session,
  key: string,
  object: { etag: string | undefined; size: number; sha256: string },
): Promise<string> {
  const recordKey = hashRecordKey(session, key)
  await session.client.send(
    new PutObjectCommand({
      Bucket: session.bucket,
      Key: recordKey,
      Body: Buffer.alloc(0),
      ContentLength: 0,
      Metadata: {
        [SHA256_METADATA]: object.sha256,
        [ETAG_METADATA]: bareEtag(object.etag),
        [SIZE_METADATA]: String(object.size),
      },
      ...session.encryption,
      ...session.payer,
    }),
  )
  return recordKey
}

/**
 * The SHA-256 in the hash record of the object `key`, if there is one written for this
 * object (same ETag and size as the HEAD or GET of it answered); undefined otherwise.
 */
export async function readHashRecord(
  session: S3Session,
  key: string,
  object: { etag: string | undefined; size: number | undefined },
): Promise<string | undefined> {
  let head
  try {
    head = await session.client.send(
      new HeadObjectCommand({
        Bucket: session.bucket,
        Key: hashRecordKey(session, key),
        ...session.payer,
      }),
    )
  } catch (error) {
    // The writer died between CompleteMultipartUpload and the record: no hash, as with an
    // object from elsewhere (`verify` reports it unverifiable).
    if (isNotFound(error)) return undefined
    throw error
  }
  const metadata = head.Metadata
  if (metadata?.[ETAG_METADATA] !== bareEtag(object.etag)) return undefined
  if (object.size !== undefined && metadata[SIZE_METADATA] !== String(object.size)) return undefined
  return recordedSha256(metadata)
}
