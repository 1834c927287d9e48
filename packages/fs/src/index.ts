export { BytesFileSystemStorage } from './bytes-file-system-storage.js'
export type { BytesFileSystemStorageOptions } from './bytes-file-system-storage.js'
export { shardedKeyGenerator } from './keys.js'
export { RESERVED_DIRECTORY } from './layout.js'
