import { stageContent, type StageOptions, type StagedUpload } from '@attrstore/attacher'
import { ConfigurationError, type AttributeStorage, type Body } from '@attrstore/core'
import type { DataSource, EntityMetadata, EntityTarget, ObjectLiteral } from 'typeorm'
import type { ColumnMetadata } from 'typeorm/metadata/ColumnMetadata.js'
import type { StoredAttributeOptions } from './decorator.js'
import { storedColumns } from './registry.js'
import { bindingOf } from './set-storage.js'

export type { StageOptions, StagedUploadState } from '@attrstore/attacher'

/**
 * Uploads a large body before the transaction opens: writes `body` to the storage of
 * `entity`'s stored `attribute` under its content rules (a refused body throws
 * `ValidationError`, nothing is kept), holding no database connection, and returns the
 * handle to assign to that attribute. The save then references the object as its own
 * upload, so the transaction lasts as long as its statements, not the upload:
 *
 * ```ts
 * const staged = await stageUpload(dataSource, File, 'data', request, { contentType: 'video/mp4' })
 * await repository.save(repository.create({ name: 'talk.mp4', data: staged }))
 * ```
 *
 * The save costs no `HEAD` and no existence check, and a rollback deletes the object. A
 * handle is saved once (a second save is refused with `UploadClaimError`) and within 12 h
 * (`MAX_STAGED_UPLOAD_AGE_MS`); one never saved is an orphan `attrstore gc` collects
 * after its grace period, or that `staged.discard()` deletes.
 */
export async function stageUpload<Entity extends ObjectLiteral>(
  dataSource: DataSource,
  entity: EntityTarget<Entity>,
  attribute: string,
  body: Body,
  options?: StageOptions,
): Promise<StagedUpload> {
  const {
    metadata,
    column,
    options: attributeOptions,
    storage,
  } = storedAttributeOf(dataSource, entity, attribute)
  return stageContent(
    { entityName: metadata.name, access: column, options: attributeOptions },
    storage,
    body,
    options,
  )
}

/** One `@StoredAttribute()` of a DataSource's entity, with its registered storage. */
export function storedAttributeOf<Entity extends ObjectLiteral>(
  dataSource: DataSource,
  entity: EntityTarget<Entity>,
  attribute: string,
): {
  metadata: EntityMetadata
  column: ColumnMetadata
  options: StoredAttributeOptions
  storage: AttributeStorage
} {
  const binding = bindingOf(dataSource)
  const metadata = dataSource.getMetadata(entity)
  const stored = storedColumns(metadata).find(({ column }) => column.propertyPath === attribute)
  if (!stored) {
    throw new ConfigurationError(
      `${metadata.name}.${String(attribute)} is not a @StoredAttribute()`,
    )
  }
  const storage = binding.storageFor(metadata, stored.column)
  return { metadata, column: stored.column, options: stored.options, storage }
}
