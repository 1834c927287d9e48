import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  type ObjectIdentifier,
} from '@aws-sdk/client-s3'
import { StorageUnavailableError } from '@attrstore/core'
import { runBounded } from '@attrstore/core/driver'
import type { Capabilities } from './capabilities.js'
import { errorCode, isNotFound, isUnsupported } from './errors.js'
import { hashRecordKey } from './hash-record.js'
import { withContentMd5 } from './middleware.js'
import type { S3Session } from './session.js'

/** One object (or version) to delete: by batch, or alone where batches are refused. */
type Target = ObjectIdentifier & { Key: string }

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
 * refuses batch deletes gets single DeleteObject calls, from then on. On an unversioned
 * bucket an object's hash record (`hash-record.ts`) goes with it, in the same batch: a
 * record's absence costs nothing there (no HEAD to find out whether there is one).
 */
export class Deletes {
  private readonly session: S3Session
  private readonly capabilities: Capabilities
  /** False once this storage's server refused a DeleteObjects. */
  private batch = true

  constructor(session: S3Session, capabilities: Capabilities) {
    this.session = session
    this.capabilities = capabilities
  }

  /** Deletes one object (or the version the reference pins), and its hash record. */
  async one(reference: string): Promise<void> {
    const { session } = this
    const { objectKey } = session.address(reference)
    try {
      const targets = await this.targets(reference)
      if (targets.length === 1 || !this.batch) {
        for (const target of targets) await this.single(target)
        return
      }
      const failures = await this.sendBatch(targets)
      if (failures === undefined) {
        for (const target of targets) await this.single(target)
      } else if (failures.length > 0) {
        throw new StorageUnavailableError(
          `DeleteObjects on s3://${session.bucket} (${session.endpointLabel}) failed: ${failures.join('; ')}`,
        )
      }
    } catch (error) {
      throw session.fail(error, 'delete', objectKey, reference)
    }
  }

  /** Deletes many objects, in batches of 1000 (or one by one, where batches are refused). */
  async many(references: Iterable<string>): Promise<void> {
    const { session } = this
    const targets = new Map<string, Target>()
    for (const reference of references) {
      session.assertReference(reference)
      for (const target of await this.targets(reference)) {
        targets.set(`${target.Key}\0${target.VersionId ?? ''}`, target)
      }
    }
    const all = [...targets.values()]
    const failures: string[] = []
    for (let start = 0; start < all.length; start += 1000) {
      const batch = all.slice(start, start + 1000)
      let refused: string[] | undefined
      if (this.batch) {
        try {
          refused = await this.sendBatch(batch)
        } catch (error) {
          throw session.fail(error, `delete (batch of ${batch.length})`)
        }
      }
      if (refused === undefined) {
        await runBounded(batch, 8, (target) => this.single(target))
      } else {
        failures.push(...refused)
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

  /**
   * What deleting a reference removes: the object, and on an unversioned bucket its hash
   * record (a reference that pins a version has none: those are recorded by copy).
   */
  private async targets(reference: string): Promise<Target[]> {
    const { objectKey, versionId, key } = this.session.address(reference)
    const object: Target = { Key: objectKey, VersionId: versionId }
    if (versionId !== undefined) return [object]
    // A record deleted by name on a versioned bucket would leave a delete marker.
    const off = await this.capabilities.recordsOff()
    return off ? [object] : [object, { Key: hashRecordKey(this.session, key) }]
  }

  /** One DeleteObject; a missing object is fine. */
  private async single(target: Target): Promise<void> {
    const { session } = this
    try {
      await session.client.send(
        new DeleteObjectCommand({
          Bucket: session.bucket,
          Key: target.Key,
          ...(target.VersionId === undefined ? {} : { VersionId: target.VersionId }),
          ...session.payer,
        }),
      )
    } catch (error) {
      if (isNotFound(error) && errorCode(error) !== 'NoSuchBucket') return
      throw error
    }
  }

  /**
   * One DeleteObjects: the failures it reported (missing objects are none), or undefined
   * when the server refuses batch deletes (single deletes from then on).
   */
  private async sendBatch(batch: Target[]): Promise<string[] | undefined> {
    const { session } = this
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
        return undefined
      }
      throw error
    }
    const failures: string[] = []
    for (const problem of answer.Errors ?? []) {
      if (problem.Code === 'NoSuchKey' || problem.Code === 'NoSuchVersion') continue
      failures.push(
        `${problem.Key ?? '?'}: ${problem.Code ?? 'error'} ${problem.Message ?? ''}`.trim(),
      )
    }
    return failures
  }
}
