import { ConfigurationError, ObjectNotFoundError, type AttributeStorage } from '@attrstore/core'
import { attachedState } from './attached-state.js'

/** The stored object behind one attribute of a loaded or saved entity, and how to serve it. */
export interface AttachedObject {
  /** The storage key kept in the column. */
  key: string
  /** The storage the object lives in. */
  storage: AttributeStorage
  /** The media type the attribute's `contentType` option gives for this entity, if any. */
  contentType?: string
  /** The file name the attribute's `fileName` option gives for this entity, if any. */
  fileName?: string
}

function entityNameOf(entity: object): string {
  return entity.constructor?.name || 'entity'
}

/**
 * `entity` was neither loaded with the attribute nor saved by attrstore (an object built
 * by hand, a row selected without the column, an attribute that is not stored): nothing
 * says where its content lives.
 */
export class AttributeNotAttachedError extends ConfigurationError {
  readonly entityName: string
  readonly attributeName: string

  constructor(entityName: string, attributeName: string) {
    super(
      `${entityName}.${attributeName} was not loaded or saved through attrstore: load the ` +
        `entity with the column selected (or save it) before serving it, and check that ` +
        `the attribute is a stored one`,
    )
    this.entityName = entityName
    this.attributeName = attributeName
  }
}

/** The attribute is null: there is no object to serve (an HTTP handler answers 404). */
export class NullAttributeError extends ObjectNotFoundError {
  readonly entityName: string
  readonly attributeName: string

  constructor(entityName: string, attributeName: string) {
    super('', `${entityName}.${attributeName} is null: it references no stored object`)
    this.entityName = entityName
    this.attributeName = attributeName
  }
}

/**
 * The stored object behind `entity`'s attribute at `propertyPath`, as attrstore last
 * loaded or saved it: its key and storage, with the media type and file name the
 * attribute's options give for this entity. ORM-neutral: what HTTP serving needs, without
 * knowing the ORM.
 *
 * Throws {@link AttributeNotAttachedError} when attrstore never loaded or saved this
 * attribute of this entity object, {@link NullAttributeError} when it is null.
 */
export function attachedAttribute(entity: object, propertyPath: string): AttachedObject {
  const state = attachedState(entity, propertyPath)
  if (state?.key === null) throw new NullAttributeError(entityNameOf(entity), propertyPath)
  if (!state?.storage) throw new AttributeNotAttachedError(entityNameOf(entity), propertyPath)
  const options = state.options ?? {}
  const given = entity as never
  const contentType =
    typeof options.contentType === 'function' ? options.contentType(given) : options.contentType
  const fileName = options.fileName?.(given)
  return {
    key: state.key,
    storage: state.storage,
    ...(typeof contentType === 'string' ? { contentType } : {}),
    ...(typeof fileName === 'string' ? { fileName } : {}),
  }
}
