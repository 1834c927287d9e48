export { StoredContent } from './content.js'
export { attachedState, getStorageKey } from './attached-state.js'
export type { AttachedState } from './attached-state.js'
export {
  attachedAttribute,
  AttributeNotAttachedError,
  NullAttributeError,
} from './attached-attribute.js'
export type { AttachedObject } from './attached-attribute.js'
export type { AttachmentOptions, LoadMode } from './options.js'
export type {
  AttacherHost,
  CleanupFailure,
  CleanupReporter,
  ObjectLocks,
  ClaimLock,
  ReferenceIndex,
} from './ports.js'
export { UnitOfWork } from './unit-of-work.js'
export type { PropertyWrite, Upload } from './unit-of-work.js'
export { Attacher } from './attacher.js'
export type { AttachedAttribute, AttributeAccess, AttributeWrite } from './attacher.js'
export {
  InProcessObjectLocks,
  localObjectLock,
  objectIdentity,
  objectKeyOf,
  tryLocalObjectLock,
  tryObjectLocks,
  waitingObjectLocks,
} from './object-locks.js'
export { claimUpload, isClaimedUpload } from './upload-claim.js'
export {
  isStagedUpload,
  MAX_STAGED_UPLOAD_AGE_MS,
  stageContent,
  StagedUpload,
} from './staged-upload.js'
export type { StageOptions, StagedUploadState, StagingTarget } from './staged-upload.js'
export type { ClaimedUpload } from './upload-claim.js'
export { MAX_UPLOAD_TOKEN_LIFETIME_MS, UploadTokens } from './upload-tokens.js'
export type { UploadGrant, UploadTarget, UploadTokensOptions } from './upload-tokens.js'
export { prepareDirectUpload } from './direct-upload.js'
export type { AttributeLimits, CreatedUpload, UploadRequest } from './direct-upload.js'
