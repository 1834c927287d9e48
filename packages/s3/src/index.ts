/**
 * `@attrstore/s3`: `S3Storage` and the types of its options, URLs, upload parameters,
 * locations and probed capabilities.
 *
 * @packageDocumentation
 */
export { S3Storage } from './s3-storage.js'
export type { S3ObjectLocation } from './s3-storage.js'
export type { S3Capabilities } from './capabilities.js'
export type { DirectUploadMethod, S3DirectUploadOptions } from './direct-upload.js'
export type { S3StorageOptions, S3UrlOptions, UploadInfo, UploadParameters } from './options.js'
