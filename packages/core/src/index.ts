export type {
  AttributeStorage,
  ByteRange,
  DirectUpload,
  DirectUploadOptions,
  ListedObject,
  ObjectStat,
  OpenedObject,
  ReadOptions,
  SignedUrl,
  SignedUrlOptions,
  StaleWritesOptions,
  StaleWritesReport,
  VerifyResult,
  WriteOptions,
  WriteProgress,
  WriteResult,
} from './contract.js'
export { existingObject, isExistingObject, normalizeBody, collectStream } from './body.js'
export type { Body, ExistingObject, NormalizedBody } from './body.js'
export {
  AttrstoreError,
  ConfigurationError,
  IntegrityError,
  InvalidBodyError,
  InvalidKeyError,
  KeyConflictError,
  ObjectNotFoundError,
  RangeNotSatisfiableError,
  StorageUnavailableError,
  isAttrstoreError,
} from './errors.js'
export type { AttrstoreErrorCode } from './errors.js'
export {
  assertValidKey,
  assertValidPrefix,
  safeExtension,
  uuidKeyGenerator,
  MAX_KEY_BYTES,
} from './keys.js'
export type { KeyContext, KeyGenerator } from './keys.js'
export { DigestStream, hashStream, sha256Hex, isSha256Hex } from './integrity.js'
export type { Digest, DigestStreamOptions, HashedStream } from './integrity.js'
export { BaseStorage, resolveRange } from './base-storage.js'
export { Limiter, runBounded } from './concurrency.js'
export type { BaseStorageOptions, NewObject } from './base-storage.js'
export { MemoryStorage } from './memory-storage.js'
export { mediaTypeOf } from './media-type.js'
export { staleWritesCutoff } from './stale-writes.js'
