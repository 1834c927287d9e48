import { Column, type ObjectLiteral } from 'typeorm'
import type { AttachmentOptions, ClaimedUpload, StagedUpload } from '@attrstore/attacher'
import { assertContentRules, type Body } from '@attrstore/core'
import { declareKeyColumnIndex } from './key-column-index.js'
import { processWide } from './process-wide.js'

export type { LoadMode } from '@attrstore/attacher'

/**
 * The options of `@StoredAttribute()`: `load`, `contentType`, `fileName`, `loadConcurrency`,
 * the content rules `maxSize`, `accept` and `sniff` (checked on the real bytes of every
 * save: a body that breaks one fails the save with a `ValidationError` before the row is
 * written, and nothing of it is stored), and the column's.
 */
export interface StoredAttributeOptions<
  Entity extends object = ObjectLiteral,
> extends AttachmentOptions<Entity> {
  /** Whether the attribute may be null. Default true. */
  nullable?: boolean
  /** Database column name. Default: TypeORM's naming strategy. */
  name?: string
  /** Length of the key column. Default 1024 (S3's key limit). */
  length?: number
  /**
   * The index on the key column, which the reference checks after every update and removal
   * (and `attrstore gc`/`verify`) look keys up by. `true` (default): a non-unique index
   * named by TypeORM's naming strategy (several rows may hold one key, e.g. after an
   * import); a string: that index, under this name; `false`: none (you manage the
   * indexes). An index the entity declares itself on exactly this column (`@Index()` on
   * the property, `@Index([...])` or `@Unique([...])` on the class) takes its place.
   */
  index?: boolean | string
}

/** The value a stored attribute's property may be given: content, a claimed direct upload, a staged upload, or null. */
export type StoredAttributeValue = Body | ClaimedUpload | StagedUpload | null

interface RegisteredAttribute {
  options: StoredAttributeOptions
}

/**
 * Decorated attributes, by the class that declares them (an entity or an embedded class):
 * process-wide, so that the CLI's copy of this package sees the options of entities an
 * application's CommonJS copy decorated.
 */
const registry = processWide(
  'attributes',
  () => new Map<object, Map<string, RegisteredAttribute>>(),
)

/**
 * Marks an entity property as kept in a storage: the column holds the storage key, the
 * property holds the content.
 *
 * ```ts
 * @Entity() class File {
 *   @PrimaryGeneratedColumn() id!: number
 *   @Column() mimeType!: string
 *   @StoredAttribute({ contentType: (file: File) => file.mimeType }) data!: Buffer | null
 *   @StoredAttribute({ maxSize: 5_000_000, accept: ['image/*', 'application/pdf'] }) scan!: Buffer | null
 * }
 * ```
 *
 * Throws a `ConfigurationError` for content rules that are not well-formed.
 */
export function StoredAttribute<Entity extends object = ObjectLiteral>(
  options: StoredAttributeOptions<Entity> = {},
): PropertyDecorator {
  return (target, propertyKey) => {
    if (typeof propertyKey !== 'string')
      throw new TypeError('@StoredAttribute() needs a string property name')
    assertContentRules(options, `${target.constructor.name}.${propertyKey}`)
    Column({
      type: 'varchar',
      length: options.length ?? 1024,
      nullable: options.nullable ?? true,
      ...(options.name ? { name: options.name } : {}),
    })(target, propertyKey)
    const owner = target.constructor
    const index = options.index ?? true
    if (index !== false)
      declareKeyColumnIndex(owner, propertyKey, typeof index === 'string' ? index : undefined)
    let attributes = registry.get(owner)
    if (!attributes) registry.set(owner, (attributes = new Map()))
    // Widened to any entity: the subscriber only passes instances of this class to the
    // option functions, which the type system cannot see through their parameters.
    attributes.set(propertyKey, { options: options as StoredAttributeOptions })
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
