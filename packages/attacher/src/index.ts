export { StoredContent } from './content.js'
export { attachedState, getStorageKey } from './attached-state.js'
export type { AttachedState } from './attached-state.js'
export type { AttachmentOptions, LoadMode } from './options.js'
export type {
  AttacherHost,
  CleanupFailure,
  CleanupReporter,
  ObjectLocks,
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
  tryObjectLocks,
  waitingObjectLocks,
} from './object-locks.js'
