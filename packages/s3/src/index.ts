export { S3Storage, RESERVED_PREFIX, SHA256_METADATA } from './s3-storage.js'
export type { S3Capabilities, S3ObjectLocation, StaleUploadsReport } from './s3-storage.js'
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
