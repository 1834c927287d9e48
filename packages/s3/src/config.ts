import type { S3ClientConfig } from '@aws-sdk/client-s3'
import { ConfigurationError } from '@attrstore/core'
import { bucketNameProblem, normalizePrefix } from './bucket.js'
import type { S3StorageOptions } from './options.js'

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
