export { StoredAttribute } from './decorator.js'
export type { LoadMode, StoredAttributeOptions, StoredAttributeValue } from './decorator.js'
export {
  setStorage,
  setUploadTokens,
  unsetStorage,
  storageEvents,
  storageBindings,
} from './set-storage.js'
export {
  StoredContent,
  getStorageKey,
  attachedAttribute,
  AttributeNotAttachedError,
  NullAttributeError,
  claimUpload,
  MAX_STAGED_UPLOAD_AGE_MS,
  StagedUpload,
  UploadTokens,
  MAX_UPLOAD_TOKEN_LIFETIME_MS,
} from '@attrstore/attacher'
export type { AttachedObject, ClaimedUpload, UploadTokensOptions } from '@attrstore/attacher'
export { createUpload } from './direct-upload.js'
export { stageUpload } from './staged-upload.js'
export type { StageOptions, StagedUploadState } from './staged-upload.js'
export type { CreatedUpload, UploadRequest } from './direct-upload.js'
export { StorageNotConfiguredError } from './errors.js'
export { storedColumns } from './registry.js'
export type { CleanupFailure, StorageEventMap, StoredColumn } from './registry.js'
