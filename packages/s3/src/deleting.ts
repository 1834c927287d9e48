import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  type ObjectIdentifier,
} from '@aws-sdk/client-s3'
import { StorageUnavailableError } from '@attrstore/core'
import { runBounded } from '@attrstore/core/driver'
import { errorCode, isNotFound, isUnsupported } from './errors.js'
import { withContentMd5 } from './middleware.js'
import type { S3Session } from './session.js'

/** What servers answer to a DeleteObjects they cannot take: single deletes will do. */
const BATCH_DELETE_FALLBACK = new Set([
  'MissingContentMD5',
  'InvalidDigest',
  'BadDigest',
  'InvalidRequest',
  'XAmzContentSHA256Mismatch',
  'MalformedXML',
])

/**
 * Deletes, idempotent: a missing object is not an error. Many objects go in batches of
 * 1000 with DeleteObjects, carrying the `Content-MD5` some servers demand; a server that
 * refuses batch deletes gets single DeleteObject calls, from then on.
 */
export class Deletes {
  private readonly session: S3Session
  /** False once this storage's server refused a DeleteObjects. */
  private batch = true

  constructor(session: S3Session) {
    this.session = session
  }

  /** Deletes one object (or the version the reference pins). */
  async one(reference: string): Promise<void> {
    const { session } = this
    const { objectKey, input } = session.address(reference)
    try {
      await session.client.send(new DeleteObjectCommand(input))
    } catch (error) {
      if (isNotFound(error) && errorCode(error) !== 'NoSuchBucket') return
      throw session.fail(error, 'delete', objectKey, reference)
    }
  }

  /** Deletes many objects, in batches of 1000 (or one by one, where batches are refused). */
  async many(references: Iterable<string>): Promise<void> {
    const { session } = this
    const targets = new Map<string, ObjectIdentifier & { reference: string }>()
    for (const reference of references) {
      session.assertReference(reference)
      const { objectKey, versionId } = session.address(reference)
      targets.set(`${objectKey}\0${versionId ?? ''}`, {
        Key: objectKey,
        VersionId: versionId,
        reference,
      })
    }
    const all = [...targets.values()]
    const failures: string[] = []
    for (let start = 0; start < all.length; start += 1000) {
      const batch = all.slice(start, start + 1000)
      if (!this.batch) {
        await runBounded(batch, 8, (target) => this.one(target.reference))
        continue
      }
      let answer
      try {
        answer = await session.client.send(
          withContentMd5(
            new DeleteObjectsCommand({
              Bucket: session.bucket,
              Delete: {
                Objects: batch.map(({ Key, VersionId }) => ({ Key, VersionId })),
                Quiet: true,
              },
              ...session.payer,
            }),
          ),
        )
      } catch (error) {
        const code = errorCode(error)
        if (isUnsupported(error) || (code !== undefined && BATCH_DELETE_FALLBACK.has(code))) {
          this.batch = false
          await runBounded(batch, 8, (target) => this.one(target.reference))
          continue
        }
        throw session.fail(error, `delete (batch of ${batch.length})`)
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
        `DeleteObjects on s3://${session.bucket} (${session.endpointLabel}) failed for ${failures.length} object(s): ` +
          failures.slice(0, 5).join('; ') +
          (failures.length > 5 ? '; ...' : ''),
      )
    }
  }
}
