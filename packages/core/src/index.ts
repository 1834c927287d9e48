/**
 * `@attrstore/core`: what applications use: the `AttributeStorage` contract and its
 * types, bodies, key generator types, typed errors, content rules (size, accepted and
 * sniffed media types) and `MemoryStorage`. Driver authors
 * find `BaseStorage` and its helpers in `@attrstore/core/driver`.
 *
 * @packageDocumentation
 */
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
  WholeObject,
  WriteOptions,
  WriteProgress,
  WriteResult,
} from './contract.js'
export { existingObject } from './body.js'
export type { Body, ExistingObject } from './body.js'
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
  UploadClaimError,
  ValidationError,
  isAttrstoreError,
} from './errors.js'
export type { AttrstoreErrorCode, UploadClaimRefusal, ValidationRule } from './errors.js'
export {
  acceptsMediaType,
  assertContentRules,
  checkContent,
  checkStoredObject,
  hasContentRules,
} from './content-rules.js'
export type { CheckedContent, ContentRules, ContentSubject } from './content-rules.js'
export { isConsistentMediaType, sniffMediaType, SNIFF_LENGTH } from './media-sniffing.js'
export type { SniffedType } from './media-sniffing.js'
export type { KeyContext, KeyGenerator } from './keys.js'
export { MemoryStorage } from './memory-storage.js'
export { inferredMediaTypeOf, isActiveContent, mediaTypeOf } from './media-type.js'
