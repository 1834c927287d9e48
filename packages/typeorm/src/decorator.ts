import { Column, type ObjectLiteral } from 'typeorm'
import type { Body } from '@attrstore/core'

/** How a stored attribute is filled when its entity is loaded. */
export type LoadMode = 'eager' | 'lazy' | 'none'

export interface StoredAttributeOptions<Entity extends object = ObjectLiteral> {
  /**
   * - `eager` (default): a `Buffer` after every load, as the original does;
   * - `lazy`: a {@link StoredContent} handle; nothing is downloaded until asked;
   * - `none`: the storage key, as a string.
   */
  load?: LoadMode
  /** Whether the attribute may be null. Default true. */
  nullable?: boolean
  /** Database column name. Default: TypeORM's naming strategy. */
  name?: string
  /** Length of the key column. Default 1024 (S3's key limit). */
  length?: number
  /** Media type to record with each object, e.g. `(file) => file.mimeType`. */
  contentType?: string | ((entity: Entity) => string | undefined | null)
  /** File name of the content, so storages that keep extensions can: `(file) => file.name`. */
  fileName?: (entity: Entity) => string | undefined | null
  /** At most this many downloads at once during an eager load of many rows. Default 8. */
  loadConcurrency?: number
}

/** The value a stored attribute's property may be given. */
export type StoredAttributeValue = Body | null

interface RegisteredAttribute {
  options: StoredAttributeOptions
}

/** Decorated attributes, by the class that declares them (an entity or an embedded class). */
const registry = new Map<object, Map<string, RegisteredAttribute>>()

/**
 * Marks an entity property as kept in a storage: the column holds the storage key, the
 * property holds the content.
 *
 * ```ts
 * @Entity() class File {
 *   @PrimaryGeneratedColumn() id!: number
 *   @Column() mimeType!: string
 *   @StoredAttribute({ contentType: (file: File) => file.mimeType }) data!: Buffer | null
 * }
 * ```
 */
export function StoredAttribute<Entity extends object = ObjectLiteral>(
  options: StoredAttributeOptions<Entity> = {},
): PropertyDecorator {
  return (target, propertyKey) => {
    if (typeof propertyKey !== 'string')
      throw new TypeError('@StoredAttribute() needs a string property name')
    Column({
      type: 'varchar',
      length: options.length ?? 1024,
      nullable: options.nullable ?? true,
      ...(options.name ? { name: options.name } : {}),
    })(target, propertyKey)
    const owner = target.constructor
    let attributes = registry.get(owner)
    if (!attributes) registry.set(owner, (attributes = new Map()))
    attributes.set(propertyKey, { options: options as unknown as StoredAttributeOptions })
  }
}

/** The options of a decorated attribute, or undefined when it is not one. */
export function storedAttributeOptions(
  target: object | string,
  propertyName: string,
): StoredAttributeOptions | undefined {
  if (typeof target === 'string') return undefined
  return registry.get(target)?.get(propertyName)?.options
}
