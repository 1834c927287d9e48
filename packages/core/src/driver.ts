/**
 * `@attrstore/core/driver`: what a storage driver (and an integration built on storages)
 * needs beyond the contract: the `BaseStorage` class and the helpers it and the drivers
 * share. Applications need none of it; they import `@attrstore/core`.
 *
 * @packageDocumentation
 */
export { BaseStorage, resolveRange } from './base-storage.js'
export type { BaseStorageOptions, NewObject } from './base-storage.js'
export { collectStream, isExistingObject, normalizeBody } from './body.js'
export type { NormalizedBody } from './body.js'
export { assertValidKey, assertValidPrefix, safeExtension, uuidKeyGenerator } from './keys.js'
export { DigestStream, hashStream, sha256Hex } from './integrity.js'
export type { Digest, DigestStreamOptions, HashedStream } from './integrity.js'
export { Limiter, runBounded } from './concurrency.js'
export { emptyStaleWritesReport, staleWritesCutoff } from './stale-writes.js'
export { inferredMediaTypeOf, isMediaType } from './media-type.js'
export { acceptedMediaRanges } from './content-rules.js'
export { contentDispositionOf, safeFileName } from './content-disposition.js'
export type { Disposition } from './content-disposition.js'
export { HmacSigner, MIN_SECRET_BYTES } from './hmac-signer.js'
export type { HmacSecret, HmacSecrets } from './hmac-signer.js'
