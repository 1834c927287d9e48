export { StoredAttribute } from './decorator.js'
export type { LoadMode, StoredAttributeOptions, StoredAttributeValue } from './decorator.js'
export { setStorage, unsetStorage, storageEvents, storageBindings } from './set-storage.js'
export {
  StoredContent,
  getStorageKey,
  attachedAttribute,
  AttributeNotAttachedError,
  NullAttributeError,
} from '@attrstore/attacher'
export type { AttachedObject } from '@attrstore/attacher'
export { StorageNotConfiguredError } from './errors.js'
export { storedColumns } from './registry.js'
export type { CleanupFailure, StorageEventMap, StoredColumn } from './registry.js'
