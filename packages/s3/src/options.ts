import type {
  S3Client,
  S3ClientConfig,
  ServerSideEncryption,
  StorageClass,
} from '@aws-sdk/client-s3'
import type { KeyContext } from '@attrstore/core'
import type { BaseStorageOptions } from '@attrstore/core/driver'

/** Extra parameters of one upload, returned by {@link S3StorageOptions.uploadParameters}. */
export interface UploadParameters {
  ContentType?: string | undefined
  ContentDisposition?: string | undefined
  ContentEncoding?: string | undefined
  ContentLanguage?: string | undefined
  CacheControl?: string | undefined
  Expires?: Date | undefined
  /** User metadata (`x-amz-meta-*`); ASCII values. `sha256` is attrstore's and is overwritten. */
  Metadata?: Record<string, string> | undefined
  /** Object tags as a URL query string, e.g. `"project=a&tier=b"` (sent as a header). */
  Tagging?: string | undefined
  StorageClass?: StorageClass | undefined
}

/** What the {@link S3StorageOptions.uploadParameters} hook learns about an upload. */
export interface UploadInfo {
  /** The new object's key, relative to the storage's prefix. */
  key: string
  /** The full S3 key (prefix included). */
  objectKey: string
  context: KeyContext
  contentType?: string
}

/**
 * Options of {@link S3Storage}. Only `bucket` is required: everything else has a default
 * that works against AWS and, with an endpoint, against S3-compatible servers.
 */
export interface S3StorageOptions extends BaseStorageOptions {
  /** The bucket. Validated against S3's naming rules at construction. */
  bucket: string
  /**
   * Objects live under `prefix/` in the bucket; references stay relative to it, so a
   * storage can move to another prefix or bucket without rewriting the database.
   */
  prefix?: string | undefined
  /**
   * An S3-compatible endpoint, e.g. `http://localhost:9000`. Default, in this order:
   * `AWS_S3_ENDPOINT_URL`, `AWS_ENDPOINT_URL_S3`, `AWS_ENDPOINT_URL`, then AWS itself.
   * With a custom endpoint, path-style addressing, region `us-east-1` and checksums
   * `WHEN_REQUIRED` are the defaults.
   */
  endpoint?: string | undefined
  /** Region. Default: `AWS_REGION`, `AWS_DEFAULT_REGION`, the AWS profile, or `us-east-1` with a custom endpoint. */
  region?: string | undefined
  /** Static credentials or a provider. Default: the SDK's provider chain. */
  credentials?: S3ClientConfig['credentials'] | undefined
  /** Unsigned requests, for public buckets. Default: `AWS_SKIP_SIGNATURE`. */
  anonymous?: boolean | undefined
  /** Path-style addressing. Default: true with a custom endpoint, false on AWS. */
  forcePathStyle?: boolean | undefined
  /**
   * An `S3Client` of your own. Then the connection options above (endpoint, region,
   * credentials, anonymous, forcePathStyle, retries, timeouts, clientConfig) must not be
   * given: configure the client instead. Keep its checksums `WHEN_REQUIRED` for servers
   * that do not understand `aws-chunked` (see the README).
   */
  client?: S3Client | undefined
  /** Extra `S3Client` configuration, applied last: it overrides every default above. */
  clientConfig?: S3ClientConfig | undefined
  /** Attempts per request, retries included (SDK default 3). Keep it low in tests. */
  maxAttempts?: number | undefined
  retryMode?: 'standard' | 'adaptive' | undefined
  /** Milliseconds to establish a connection. */
  connectionTimeout?: number | undefined
  /** Milliseconds of socket inactivity before a request fails. */
  requestTimeout?: number | undefined
  /** Requester-pays buckets: the requester is billed. Default: `AWS_REQUEST_PAYER`. */
  requestPayer?: boolean | undefined
  /** Server-side encryption: `AES256` (SSE-S3), `aws:kms` or `aws:kms:dsse` (SSE-KMS). */
  serverSideEncryption?: ServerSideEncryption | `${ServerSideEncryption}` | undefined
  /** KMS key id or ARN, with `aws:kms` / `aws:kms:dsse`. */
  sseKmsKeyId?: string | undefined
  /** S3 Bucket Keys for SSE-KMS. */
  bucketKeyEnabled?: boolean | undefined
  /** Storage class of new objects, e.g. `STANDARD_IA`. */
  storageClass?: StorageClass | `${StorageClass}` | undefined
  /**
   * Extra parameters per upload: the port of `get_upload_extra_args`. Content type,
   * disposition, cache control, metadata, tags...
   */
  uploadParameters?:
    ((info: UploadInfo) => UploadParameters | Promise<UploadParameters>) | undefined
  /**
   * The original's `s3-auto-delete`. `false`: objects superseded or removed by committed
   * work (an entity updated, its attribute set to null, the entity removed) are kept, for
   * a versioned bucket, a retention policy or another reader; uploads of work that rolled
   * back are still deleted. Read by the ORM integration; `delete()` itself always deletes,
   * as rollback cleanup needs. Default true.
   */
  autoDelete?: boolean | undefined
  /** Size of multipart parts, bytes (default 5 MiB, the minimum S3 allows). */
  partSize?: number | undefined
  /** Parts uploaded at once (default 4). Memory is about `(queueSize + 2) × partSize`. */
  queueSize?: number | undefined
  /**
   * Multipart uploads for bodies larger than one part (default true). `false` for
   * gateways without multipart: each body goes as one PUT of any size; a streamed body
   * larger than one part is spooled to a temporary file first, so its length and SHA-256
   * are known when the PUT starts.
   */
  multipart?: boolean | undefined
  /** Where `multipart: false` spools large streamed bodies. Default: the OS temp directory. */
  spoolDirectory?: string | undefined
  /**
   * How write-once is enforced. `true`: the server honours `If-None-Match: *` (AWS,
   * MinIO, R2). `false`: emulated with a HEAD check under an in-process per-key lock
   * (safe within one process only; skipped for the default generator's random UUIDs).
   * `'auto'` (default): probed once per bucket.
   */
  conditionalWrites?: boolean | 'auto' | undefined
  /**
   * Whether the bucket has versioning on, which makes references pin version ids and
   * listings use ListObjectVersions. `'auto'` (default): GetBucketVersioning, once.
   */
  versioning?: boolean | 'auto' | undefined
  /**
   * When to compare the stored size with the bytes sent (a HEAD request), catching
   * servers that store `aws-chunked` framing as data. `'streams'` (default): after
   * uploads whose body went to the SDK as a stream (the only kind the SDK frames);
   * `'always'`: after every upload.
   */
  checkStoredSize?: 'streams' | 'always' | undefined
  /**
   * How `createDirectUpload` lets clients upload. `'post'` (default): a browser form
   * (POST Object) whose signed policy the server enforces: size range, exact key, media
   * type. `'put'`: a presigned PutObject, for servers without POST Object (Cloudflare
   * R2); it signs the exact `Content-Length`, so each upload is asked with its `size`.
   */
  directUploads?: 'post' | 'put' | undefined
  /** Apply AWS's bucket naming rules (default true); false for legacy or gateway buckets. */
  strictBucketName?: boolean | undefined
  /** Environment to read instead of `process.env` (for tests). */
  env?: Record<string, string | undefined> | undefined
}

/** Options of {@link S3Storage.fromUrl}: everything but what the URL says. */
export type S3UrlOptions = Omit<S3StorageOptions, 'bucket' | 'prefix'> & {
  bucket?: string | undefined
  prefix?: string | undefined
}
