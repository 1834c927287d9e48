import { randomUUID } from 'node:crypto'
import { GetBucketVersioningCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3'
import { ConfigurationError } from '@attrstore/core'
import { errorCode, httpStatus, isUnsupported } from './errors.js'
import { removeQuietly, RESERVED_PREFIX, type S3Session } from './session.js'

/** What {@link S3Storage.probe} learnt about the server and bucket. */
export interface S3Capabilities {
  /** The server refuses `If-None-Match: *` overwrites (else: emulated, in-process only). */
  conditionalWrites: boolean
  /** The bucket has versioning on (references pin versions). */
  versioning: boolean
}

// Conditional-write support is a property of a server (and bucket): probed once per
// process, shared by every storage that talks to it.
const conditionalBySetting = new Map<string, Promise<boolean>>()
const conditionalByClient = new WeakMap<S3Client, Map<string, Promise<boolean>>>()

/**
 * What the server and bucket support, asked once and remembered: whether the server
 * honours `If-None-Match: *` (per process and bucket), whether the bucket is versioned
 * (per storage).
 */
export class Capabilities {
  private readonly session: S3Session
  private versioning: Promise<boolean> | undefined
  /** A write got a version id back, whatever the configuration says. */
  private versionSeen = false
  private recordsOffAnswer: Promise<boolean> | undefined

  constructor(session: S3Session) {
    this.session = session
    const setting = session.config.versioning
    if (setting === true || setting === false) this.versioning = Promise.resolve(setting)
  }

  /** Both probes, run now. */
  async probe(): Promise<S3Capabilities> {
    const [conditionalWrites, versioning] = await Promise.all([
      this.conditionalWrites(),
      this.versioned(),
    ])
    return { conditionalWrites, versioning }
  }

  /** Whether the server itself refuses to overwrite under `If-None-Match: *`. */
  async conditionalWrites(): Promise<boolean> {
    const { session } = this
    const setting = session.config.conditionalWrites
    if (setting !== 'auto') return setting
    let cache = conditionalBySetting
    if (!session.ownsClient) {
      cache = conditionalByClient.get(session.client) ?? new Map()
      conditionalByClient.set(session.client, cache)
    }
    const id = session.ownsClient ? session.scope : session.bucket
    let probing = cache.get(id)
    if (!probing) {
      probing = probeConditionalWrites(session)
      cache.set(id, probing)
      probing.catch(() => cache.delete(id))
    }
    return probing
  }

  /** Whether the bucket has versioning on (or suspended: old objects keep versions). */
  versioned(): Promise<boolean> {
    this.versioning ??= this.askVersioning()
    this.versioning.catch(() => {
      this.versioning = undefined
    })
    return this.versioning
  }

  /**
   * Whether hash records (`hash-record.ts`) are off: the bucket is versioned, or will not
   * say (no s3:GetBucketVersioning), which is remembered so that deletes do not ask again.
   */
  async recordsOff(): Promise<boolean> {
    this.recordsOffAnswer ??= this.versioned().catch(() => true)
    return this.recordsOffAnswer
  }

  /** A write got a version id back: the bucket is versioned, no need to ask. */
  sawVersion(): void {
    this.versionSeen = true
    this.versioning ??= Promise.resolve(true)
  }

  /**
   * Whether references may pin versions, as declared (`AttributeStorage.versionedReferences`):
   * false only when the configuration says `versioning: false` and no write of this storage
   * got a version id back (a bucket configured wrongly as unversioned still makes its
   * versioned references count). `'auto'` answers true without asking: anyone may turn
   * versioning on at any time, and other processes then write versioned references.
   */
  versionedReferences(): boolean {
    return this.session.config.versioning !== false || this.versionSeen
  }

  private async askVersioning(): Promise<boolean> {
    const { session } = this
    try {
      const answer = await session.client.send(
        new GetBucketVersioningCommand({ Bucket: session.bucket }),
      )
      session.bucketSeen = true
      return answer.Status === 'Enabled' || answer.Status === 'Suspended'
    } catch (error) {
      if (isUnsupported(error)) return false
      const mapped = session.fail(error, 'GetBucketVersioning')
      if (mapped instanceof ConfigurationError && errorCode(error) !== 'NoSuchBucket') {
        throw new ConfigurationError(
          `${mapped.message} Cannot tell whether bucket "${session.bucket}" is versioned: grant ` +
            's3:GetBucketVersioning, or pass `versioning: true` or `false`.',
          { cause: error },
        )
      }
      throw mapped
    }
  }
}

/**
 * Writes a probe object twice with `If-None-Match: *`: a server that refuses the second
 * write enforces write-once itself; one that accepts it ignores the header (fauxqs,
 * s3rver, many gateways), and writes are then checked with HEAD under a lock.
 */
async function probeConditionalWrites(session: S3Session): Promise<boolean> {
  const objectKey = `${session.keyPrefix}${RESERVED_PREFIX}/probe/${randomUUID()}`
  const put = () =>
    session.client.send(
      new PutObjectCommand({
        Bucket: session.bucket,
        Key: objectKey,
        Body: Buffer.alloc(0),
        ContentLength: 0,
        IfNoneMatch: '*',
        ...session.payer,
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
    session.bucketSeen = true
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
    throw session.fail(error, 'write (probing conditional writes)', objectKey)
  } finally {
    for (const versionId of versions.length > 0 ? versions : [undefined]) {
      await removeQuietly(session, objectKey, versionId)
    }
  }
}
