import type {
  S3Client,
  S3ClientConfig,
  ServerSideEncryption,
  StorageClass,
} from '@aws-sdk/client-s3'
import { ConfigurationError, type KeyContext } from '@attrstore/core'
import { type BaseStorageOptions } from '@attrstore/core/driver'
import { bucketNameProblem, normalizePrefix } from './bucket.js'

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

/** Where the endpoint in use came from. */
export type EndpointSource =
  'option' | 'AWS_S3_ENDPOINT_URL' | 'AWS_ENDPOINT_URL_S3' | 'AWS_ENDPOINT_URL' | 'aws'

/** Options resolved against the environment: what the storage actually runs with. */
export interface ResolvedS3Config {
  bucket: string
  /** "" or a prefix ending with "/". */
  keyPrefix: string
  endpoint: string | undefined
  endpointSource: EndpointSource
  region: string | undefined
  anonymous: boolean
  requestPayer: boolean
  partSize: number
  queueSize: number
  multipart: boolean
  conditionalWrites: boolean | 'auto'
  versioning: boolean | 'auto'
  checkStoredSize: 'streams' | 'always'
  autoDelete: boolean
  /** The configuration for a client of our own; undefined when one was given. */
  clientConfig: S3ClientConfig | undefined
}

export const MiB = 1024 * 1024
const MIN_PART_SIZE = 5 * MiB
const MAX_PART_SIZE = 5 * 1024 * MiB
const DEFAULT_PART_SIZE = 5 * MiB

const CONNECTION_OPTIONS = [
  'endpoint',
  'region',
  'credentials',
  'anonymous',
  'forcePathStyle',
  'clientConfig',
  'maxAttempts',
  'retryMode',
  'connectionTimeout',
  'requestTimeout',
] as const

const SSE_VALUES = new Set(['AES256', 'aws:kms', 'aws:kms:dsse'])

/** Reads a boolean environment variable the way the AWS tools do; throws on nonsense. */
export function envFlag(env: Record<string, string | undefined>, name: string): boolean {
  const raw = env[name]
  if (raw === undefined) return false
  const value = raw.trim().toLowerCase()
  if (['1', 'true', 'yes', 'on'].includes(value)) return true
  if (['', '0', 'false', 'no', 'off'].includes(value)) return false
  throw new ConfigurationError(`${name}=${JSON.stringify(raw)} is not a boolean: use true or false`)
}

/** Checks an endpoint URL and returns it without a trailing slash. */
export function checkEndpoint(endpoint: string, source: string): string {
  let parsed: URL
  try {
    parsed = new URL(endpoint)
  } catch {
    throw new ConfigurationError(
      `${source} must be an http(s) URL such as http://localhost:9000, got ${JSON.stringify(endpoint)}`,
    )
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new ConfigurationError(
      `${source} must be an http(s) URL such as http://localhost:9000, got ${JSON.stringify(endpoint)}` +
        (parsed.protocol.startsWith('s3')
          ? ' (an s3:// URL goes to S3Storage.fromUrl, not to the endpoint)'
          : ''),
    )
  }
  if (parsed.username || parsed.password) {
    throw new ConfigurationError(
      `${source} must not carry credentials; pass \`credentials\` or set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY`,
    )
  }
  if (parsed.search || parsed.hash) {
    throw new ConfigurationError(
      `${source} must not have a query or a fragment, got ${JSON.stringify(endpoint)}`,
    )
  }
  return endpoint.replace(/\/+$/, '')
}

function positiveInteger(name: string, value: number | undefined, min = 1): void {
  if (value !== undefined && !(Number.isSafeInteger(value) && value >= min)) {
    throw new ConfigurationError(`${name} must be an integer >= ${min}, got ${String(value)}`)
  }
}

/**
 * Resolves {@link S3StorageOptions} against the environment, validating everything, and
 * builds the `S3Client` configuration. Pure: the environment is an argument.
 */
export function resolveS3Config(
  options: S3StorageOptions,
  env: Record<string, string | undefined> = options.env ?? process.env,
): ResolvedS3Config {
  if (typeof options !== 'object' || options === null) {
    throw new ConfigurationError('S3Storage needs options, at least { bucket: "my-bucket" }')
  }
  const strict = options.strictBucketName ?? true
  const problem = bucketNameProblem(options.bucket, strict)
  if (problem) {
    throw new ConfigurationError(
      options.bucket === undefined || options.bucket === ''
        ? 'S3Storage needs a `bucket`, e.g. new S3Storage({ bucket: "my-bucket" })'
        : `The bucket name ${JSON.stringify(options.bucket)} ${problem}`,
    )
  }
  let keyPrefix: string
  try {
    const normalized = normalizePrefix(options.prefix)
    keyPrefix = normalized === '' ? '' : `${normalized}/`
  } catch (error) {
    throw new ConfigurationError(
      `The prefix ${JSON.stringify(options.prefix)} is not usable: ${(error as Error).message}`,
    )
  }

  positiveInteger('queueSize', options.queueSize)
  positiveInteger('maxAttempts', options.maxAttempts)
  positiveInteger('connectionTimeout', options.connectionTimeout)
  positiveInteger('requestTimeout', options.requestTimeout)
  const partSize = options.partSize ?? DEFAULT_PART_SIZE
  if (!Number.isSafeInteger(partSize) || partSize < MIN_PART_SIZE || partSize > MAX_PART_SIZE) {
    throw new ConfigurationError(
      `partSize must be an integer between 5 MiB (${MIN_PART_SIZE}) and 5 GiB, got ${String(options.partSize)}`,
    )
  }
  if (options.serverSideEncryption !== undefined && !SSE_VALUES.has(options.serverSideEncryption)) {
    throw new ConfigurationError(
      `serverSideEncryption must be "AES256" (SSE-S3), "aws:kms" or "aws:kms:dsse" (SSE-KMS), got ${JSON.stringify(options.serverSideEncryption)}`,
    )
  }
  if (options.sseKmsKeyId !== undefined && !options.serverSideEncryption?.startsWith('aws:kms')) {
    throw new ConfigurationError(
      'sseKmsKeyId needs serverSideEncryption: "aws:kms" (or "aws:kms:dsse")',
    )
  }
  for (const [name, value, allowed] of [
    ['conditionalWrites', options.conditionalWrites, [true, false, 'auto']],
    ['versioning', options.versioning, [true, false, 'auto']],
    ['checkStoredSize', options.checkStoredSize, ['streams', 'always']],
    ['retryMode', options.retryMode, ['standard', 'adaptive']],
    ['autoDelete', options.autoDelete, [true, false]],
  ] as const) {
    if (value !== undefined && !(allowed as readonly unknown[]).includes(value)) {
      throw new ConfigurationError(
        `${name} must be one of ${allowed.map((v) => JSON.stringify(v)).join(', ')}, got ${JSON.stringify(value)}`,
      )
    }
  }
  if (options.uploadParameters !== undefined && typeof options.uploadParameters !== 'function') {
    throw new ConfigurationError('uploadParameters must be a function (info) => parameters')
  }

  const requestPayer = options.requestPayer ?? envFlag(env, 'AWS_REQUEST_PAYER')
  const common = {
    bucket: options.bucket,
    keyPrefix,
    requestPayer,
    partSize,
    queueSize: options.queueSize ?? 4,
    multipart: options.multipart ?? true,
    conditionalWrites: options.conditionalWrites ?? 'auto',
    versioning: options.versioning ?? 'auto',
    checkStoredSize: options.checkStoredSize ?? 'streams',
    autoDelete: options.autoDelete ?? true,
  }

  if (options.client !== undefined) {
    const conflicting = CONNECTION_OPTIONS.filter((name) => options[name] !== undefined)
    if (conflicting.length > 0) {
      throw new ConfigurationError(
        `Pass either \`client\` or connection options, not both: ${conflicting.join(', ')} ` +
          'would be ignored with a client of your own. Configure them on the client.',
      )
    }
    return {
      ...common,
      endpoint: undefined,
      endpointSource: 'aws',
      region: undefined,
      anonymous: false,
      clientConfig: undefined,
    }
  }

  let endpoint: string | undefined
  let endpointSource: EndpointSource = 'aws'
  const ignoreConfigured = envFlag(env, 'AWS_IGNORE_CONFIGURED_ENDPOINT_URLS')
  const candidates: Array<[EndpointSource, string | undefined]> = [
    ['option', options.endpoint],
    ['AWS_S3_ENDPOINT_URL', env.AWS_S3_ENDPOINT_URL],
    ['AWS_ENDPOINT_URL_S3', ignoreConfigured ? undefined : env.AWS_ENDPOINT_URL_S3],
    ['AWS_ENDPOINT_URL', ignoreConfigured ? undefined : env.AWS_ENDPOINT_URL],
  ]
  for (const [source, value] of candidates) {
    if (value === undefined || value.trim() === '') continue
    endpoint = checkEndpoint(value.trim(), source === 'option' ? 'endpoint' : source)
    endpointSource = source
    break
  }

  const custom = endpoint !== undefined
  const region =
    options.region ??
    nonEmpty(env.AWS_REGION) ??
    nonEmpty(env.AWS_DEFAULT_REGION) ??
    (custom ? 'us-east-1' : undefined)
  if (region !== undefined && !/^[a-z0-9][a-z0-9-]*$/.test(region)) {
    throw new ConfigurationError(
      `region must look like "eu-west-1" (or "auto" for R2), got ${JSON.stringify(region)}`,
    )
  }
  const anonymous = options.anonymous ?? envFlag(env, 'AWS_SKIP_SIGNATURE')

  const clientConfig: S3ClientConfig = {
    ...(endpoint === undefined ? {} : { endpoint }),
    ...(region === undefined ? {} : { region }),
    forcePathStyle: options.forcePathStyle ?? custom,
    // An AWS bucket in another region than configured answers with a redirect: follow it.
    followRegionRedirects: !custom,
    ...(custom
      ? {
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : {}),
    ...(options.credentials === undefined ? {} : { credentials: options.credentials }),
    ...(options.maxAttempts === undefined ? {} : { maxAttempts: options.maxAttempts }),
    ...(options.retryMode === undefined ? {} : { retryMode: options.retryMode }),
    ...(options.connectionTimeout === undefined && options.requestTimeout === undefined
      ? {}
      : {
          requestHandler: {
            ...(options.connectionTimeout === undefined
              ? {}
              : { connectionTimeout: options.connectionTimeout }),
            ...(options.requestTimeout === undefined
              ? {}
              : { requestTimeout: options.requestTimeout }),
          },
        }),
    ...(anonymous ? anonymousAuth() : {}),
    ...options.clientConfig,
  }
  return { ...common, endpoint, endpointSource, region, anonymous, clientConfig }
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim()
}

/**
 * Unsigned requests: SigV4 schemes whose identity is empty and whose signer leaves the
 * request alone, so the SDK neither looks for credentials nor signs.
 */
function anonymousAuth(): Pick<S3ClientConfig, 'httpAuthSchemes'> {
  const signer = { sign: async <T>(request: T): Promise<T> => request }
  const identityProvider = () => async () => ({})
  return {
    httpAuthSchemes: [
      { schemeId: 'aws.auth#sigv4', identityProvider, signer },
      { schemeId: 'aws.auth#sigv4a', identityProvider, signer },
    ],
  }
}
