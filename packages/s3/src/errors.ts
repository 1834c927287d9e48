import {
  ConfigurationError,
  isAttrstoreError,
  KeyConflictError,
  ObjectNotFoundError,
  RangeNotSatisfiableError,
  StorageUnavailableError,
} from '@attrstore/core'

/** What was being done when an SDK call failed, for the error message. */
export interface ErrorContext {
  operation: string
  bucket: string
  /** Where requests go: the endpoint URL, or "AWS". */
  endpoint: string
  /** The reference concerned, named in not-found and conflict errors. */
  reference?: string
  /** The full S3 key, named in messages. */
  objectKey?: string
}

interface SdkErrorShape {
  name?: string
  Code?: string
  code?: string
  message?: string
  $fault?: 'client' | 'server'
  $metadata?: { httpStatusCode?: number; attempts?: number }
}

/** The S3 error code (`NoSuchKey`, `AccessDenied`...) or the Node error code (`ECONNREFUSED`). */
export function errorCode(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const shape = error as SdkErrorShape
  return shape.Code ?? (typeof shape.code === 'string' ? shape.code : undefined) ?? shape.name
}

/** The HTTP status of a failed request, when there was a response. */
export function httpStatus(error: unknown): number | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  return (error as SdkErrorShape).$metadata?.httpStatusCode
}

const NOT_FOUND = new Set(['NoSuchKey', 'NotFound', 'NoSuchVersion'])
const NETWORK = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'EPIPE',
  'TimeoutError',
  'RequestTimeout',
  'NetworkingError',
])
const CREDENTIAL_ERRORS = new Set([
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'InvalidToken',
  'ExpiredToken',
  'TokenRefreshRequired',
])

const CREDENTIAL_HELP =
  'Set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (plus AWS_SESSION_TOKEN for temporary ' +
  'credentials), or AWS_PROFILE with AWS_CONFIG_FILE / AWS_SHARED_CREDENTIALS_FILE, or ' +
  'AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN; or pass `credentials`; or, for a public ' +
  'bucket, set AWS_SKIP_SIGNATURE=true (`anonymous: true`).'

const UNSUPPORTED = new Set(['NotImplemented', 'MethodNotAllowed', 'UnsupportedOperation'])

/** True when the server says it does not implement a request (gateways, test servers). */
export function isUnsupported(error: unknown): boolean {
  const code = errorCode(error)
  const status = httpStatus(error)
  return (code !== undefined && UNSUPPORTED.has(code)) || status === 501 || status === 405
}

/** True when the server answered with a 5xx error (after the SDK's retries). */
export function isServerFault(error: unknown): boolean {
  const status = httpStatus(error)
  return status !== undefined && status >= 500
}

/** True for a missing object (or version). */
export function isNotFound(error: unknown): boolean {
  const code = errorCode(error)
  return (
    (code !== undefined && NOT_FOUND.has(code)) ||
    (httpStatus(error) === 404 && code !== 'NoSuchBucket')
  )
}

/** True when a request failed without an answer worth retrying further. */
export function isNetworkError(error: unknown): boolean {
  const code = errorCode(error)
  return code !== undefined && NETWORK.has(code)
}

/** True when the caller aborted. */
export function isAbort(error: unknown): boolean {
  return (
    typeof error === 'object' &&
    error !== null &&
    ((error as Error).name === 'AbortError' || errorCode(error) === 'ABORT_ERR')
  )
}

/**
 * What the server answered, for messages: `NoSuchKey, HTTP 404: <its message>`. Some
 * servers (Ceph RGW) send an empty `<Message>`, which the SDK turns into "UnknownError":
 * such a message says nothing and is left out; the code and the status tell.
 */
function describeAnswer(code: string | undefined, status: number | undefined, message: string) {
  const said = message === '' || message === 'UnknownError' || message === code ? '' : message
  const answer = [code, status === undefined ? undefined : `HTTP ${status}`].filter(Boolean)
  if (answer.length === 0) return said || 'error'
  return `${answer.join(', ')}${said ? `: ${said}` : ''}`
}

function where(context: ErrorContext): string {
  const target = context.objectKey === undefined ? '' : `/${context.objectKey}`
  return `s3://${context.bucket}${target} (${context.endpoint})`
}

/**
 * Turns whatever an SDK call threw into an attrstore error that says what to fix. Errors
 * that are already attrstore's, caller aborts and non-SDK errors (a failing body stream)
 * pass through unchanged.
 */
export function toStorageError(error: unknown, context: ErrorContext): unknown {
  if (isAttrstoreError(error) || isAbort(error)) return error
  if (typeof error !== 'object' || error === null) return error
  const code = errorCode(error)
  const status = httpStatus(error)
  const message = (error as SdkErrorShape).message ?? String(error)
  const detail = describeAnswer(code, status, message)
  const attempts = (error as SdkErrorShape).$metadata?.attempts
  const cause = { cause: error }

  if (code === 'CredentialsProviderError' || /could not load credentials/i.test(message)) {
    return new ConfigurationError(
      `No AWS credentials for ${context.operation} on ${where(context)}: ${message}. ${CREDENTIAL_HELP}`,
      cause,
    )
  }
  if (code !== undefined && CREDENTIAL_ERRORS.has(code)) {
    return new ConfigurationError(
      `The server refused the credentials for ${context.operation} on ${where(context)} (${detail}). ${CREDENTIAL_HELP}`,
      cause,
    )
  }
  if (/region is missing/i.test(message)) {
    return new ConfigurationError(
      `No AWS region for bucket "${context.bucket}": set AWS_REGION (or pass \`region\`), or give an endpoint (AWS_S3_ENDPOINT_URL) for an S3-compatible server.`,
      cause,
    )
  }
  if (code === 'NoSuchBucket') {
    return new ConfigurationError(
      `The bucket "${context.bucket}" does not exist at ${context.endpoint} (${context.operation}). ` +
        'Create it, or fix the bucket name or the endpoint (AWS_S3_ENDPOINT_URL).',
      cause,
    )
  }
  if (code === 'AccessDenied' || code === 'AllAccessDisabled' || status === 403) {
    return new ConfigurationError(
      `Access denied: ${context.operation} on ${where(context)}. Grant the credentials in use ` +
        's3:GetObject, s3:PutObject, s3:DeleteObject and s3:ListBucket on the bucket ' +
        '(without s3:ListBucket, S3 answers 403 instead of 404 for a missing object).',
      cause,
    )
  }
  if (isNotFound(error) && context.reference !== undefined) {
    return new ObjectNotFoundError(context.reference, undefined, cause)
  }
  if (code === 'InvalidRange' || status === 416) {
    return new RangeNotSatisfiableError(
      context.reference ?? context.objectKey ?? '',
      `the range starts past the end of the object (${detail})`,
    )
  }
  if (
    (code === 'PreconditionFailed' || status === 412) &&
    context.reference !== undefined &&
    context.operation.startsWith('write')
  ) {
    return new KeyConflictError(context.reference)
  }
  if (code !== undefined && NETWORK.has(code)) {
    return new StorageUnavailableError(
      `Cannot reach the S3 endpoint ${context.endpoint} for ${context.operation} on s3://${context.bucket}` +
        `${attempts === undefined ? '' : ` after ${attempts} attempt${attempts === 1 ? '' : 's'}`}: ${code}: ${message}`,
      cause,
    )
  }
  if ((error as SdkErrorShape).$metadata !== undefined || (error as SdkErrorShape).$fault) {
    return new StorageUnavailableError(
      `S3 ${context.operation} failed on ${where(context)}: ${detail}` +
        `${attempts && attempts > 1 ? ` after ${attempts} attempts` : ''}`,
      cause,
    )
  }
  return error
}
