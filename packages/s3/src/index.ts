export { S3Storage } from './s3-storage.js'
export type { S3ObjectLocation } from './s3-storage.js'
export { RESERVED_PREFIX, SHA256_METADATA } from './session.js'
export type { S3Capabilities } from './capabilities.js'
export { resolveS3Config, envFlag, checkEndpoint } from './config.js'
export type {
  EndpointSource,
  ResolvedS3Config,
  S3StorageOptions,
  S3UrlOptions,
  UploadInfo,
  UploadParameters,
} from './config.js'
export { parseS3Url } from './url.js'
export type { S3Location } from './url.js'
export { bucketNameProblem, normalizePrefix } from './bucket.js'
export { formatReference, parseReference, VERSION_SEPARATOR } from './reference.js'
export type { ParsedReference } from './reference.js'
export { toStorageError } from './errors.js'
export type { ErrorContext } from './errors.js'
