import {
  DeleteObjectCommand,
  HeadBucketCommand,
  S3Client,
  type PutObjectCommandInput,
} from '@aws-sdk/client-s3'
import { ConfigurationError, ObjectNotFoundError } from '@attrstore/core'
import type { ResolvedS3Config } from './config.js'
import type { S3StorageOptions } from './options.js'
import { errorCode, isNotFound, toStorageError, type ErrorContext } from './errors.js'
import { parseReference } from './reference.js'

/** Keys under `<prefix>/.attrstore/` belong to the storage itself (capability probes). */
export const RESERVED_PREFIX = '.attrstore'

/** The metadata entry (`x-amz-meta-sha256`) holding an object's hex SHA-256. */
export const SHA256_METADATA = 'sha256'

const SHA256_HEX = /^[0-9a-f]{64}$/i

/** The SHA-256 recorded in an object's metadata, when there is a well-formed one. */
export function recordedSha256(metadata: Record<string, string> | undefined): string | undefined {
  const value = metadata?.[SHA256_METADATA]
  return value !== undefined && SHA256_HEX.test(value) ? value.toLowerCase() : undefined
}

/** Where a reference points, in the words of requests. */
export interface Addressed {
  /** The key, relative to the prefix. */
  key: string
  /** The full S3 key. */
  objectKey: string
  /** The pinned version, if the reference pins one. */
  versionId: string | undefined
  /** Bucket, Key, VersionId and RequestPayer, ready for a request on the object. */
  input: {
    Bucket: string
    Key: string
    VersionId?: string | undefined
    RequestPayer?: 'requester'
  }
}

/**
 * What every operation of one `S3Storage` shares: the client and the bucket it talks to,
 * the key prefix, the options as resolved, how errors are worded, and whether the bucket
 * has answered yet. Writing, reading, deleting and listing each take it.
 */
export class S3Session {
  /** The client requests go through (the user's, or one built from the options). */
  readonly client: S3Client
  /** True when the storage built the client (and so closes it). */
  readonly ownsClient: boolean
  readonly bucket: string
  /** "" or the prefix with its trailing "/": full S3 key = keyPrefix + key. */
  readonly keyPrefix: string
  readonly config: ResolvedS3Config
  readonly options: S3StorageOptions
  /** Where requests go, as error messages name it. */
  readonly endpointLabel: string
  /**
   * Names the server, region and bucket: storages of the process with the same scope talk
   * to the same bucket (shared capability probes, write locks).
   */
  readonly scope: string
  /**
   * The bucket answered a request: a 404 is then about the key, not the bucket, and needs
   * no HeadBucket to tell.
   */
  bucketSeen = false
  /** The storage's own reference check (subclasses may make it stricter). */
  readonly assertReference: (reference: string) => string

  constructor(
    options: S3StorageOptions,
    config: ResolvedS3Config,
    assertReference: (reference: string) => string,
  ) {
    this.options = options
    this.config = config
    this.bucket = config.bucket
    this.keyPrefix = config.keyPrefix
    this.assertReference = assertReference
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
  }

  /** Where a (checked) reference points: its full key, version and request parameters. */
  address(reference: string): Addressed {
    const { key, versionId } = parseReference(reference)
    const objectKey = this.keyPrefix + key
    return {
      key,
      objectKey,
      versionId,
      input: {
        Bucket: this.bucket,
        Key: objectKey,
        VersionId: versionId,
        ...this.payer,
      },
    }
  }

  /** `RequestPayer` for requester-pays buckets. */
  get payer(): { RequestPayer?: 'requester' } {
    return this.config.requestPayer ? { RequestPayer: 'requester' } : {}
  }

  /** The server-side encryption parameters of new objects. */
  get encryption(): Pick<
    PutObjectCommandInput,
    'ServerSideEncryption' | 'SSEKMSKeyId' | 'BucketKeyEnabled'
  > {
    const { serverSideEncryption, sseKmsKeyId, bucketKeyEnabled } = this.options
    return {
      ServerSideEncryption: serverSideEncryption as PutObjectCommandInput['ServerSideEncryption'],
      SSEKMSKeyId: sseKmsKeyId,
      BucketKeyEnabled: bucketKeyEnabled,
    }
  }

  /** The attrstore error for what an SDK call threw (see `toStorageError`). */
  fail(error: unknown, operation: string, objectKey?: string, reference?: string): unknown {
    const context: ErrorContext = {
      operation,
      bucket: this.bucket,
      endpoint: this.endpointLabel,
      ...(objectKey === undefined ? {} : { objectKey }),
      ...(reference === undefined ? {} : { reference }),
    }
    return toStorageError(error, context)
  }

  /** A HEAD 404 does not say whether the key or the bucket is missing: ask, once. */
  async notFound(reference: string, cause: unknown): Promise<ObjectNotFoundError> {
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
}

/**
 * The `VersionId` parameter for a version id a write got back: none for an unversioned
 * object (no id, or S3's `"null"`).
 */
export function storedVersion(versionId: string | undefined): { VersionId?: string } {
  return versionId === undefined || versionId === 'null' ? {} : { VersionId: versionId }
}

/**
 * Deletes one object (or version) and ignores any failure: cleanup of what a failed write
 * or a probe left, where the original error matters more.
 */
export async function removeQuietly(
  session: S3Session,
  objectKey: string,
  versionId: string | undefined,
): Promise<void> {
  await session.client
    .send(
      new DeleteObjectCommand({
        Bucket: session.bucket,
        Key: objectKey,
        ...storedVersion(versionId),
        ...session.payer,
      }),
    )
    .catch(() => {})
}
