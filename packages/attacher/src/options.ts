import type { ContentRules } from '@attrstore/core'

/** How a stored attribute is filled when its entity is loaded. */
export type LoadMode = 'eager' | 'lazy' | 'none'

/**
 * What every ORM adapter's stored-attribute options have in common. The content rules
 * (`maxSize`, `accept`, `sniff`: see `ContentRules`) are checked on every write, on the
 * real bytes; an adapter checks their shape with `assertContentRules` when the attribute
 * is declared.
 */
export interface AttachmentOptions<Entity extends object> extends ContentRules {
  /**
   * - `eager` (default): a `Buffer` after every load, as the original does;
   * - `lazy`: a `StoredContent` handle; nothing is downloaded until asked;
   * - `none`: the storage key, as a string.
   */
  load?: LoadMode
  /** Media type to record with each object, e.g. `(file) => file.mimeType`. */
  contentType?: string | ((entity: Entity) => string | undefined | null)
  /** File name of the content, so storages that keep extensions can: `(file) => file.name`. */
  fileName?: (entity: Entity) => string | undefined | null
  /** At most this many downloads at once during an eager load of many rows. Default 8. */
  loadConcurrency?: number
}
