import {
  prepareDirectUpload,
  type CreatedUpload,
  type UploadRequest,
  type UploadTokens,
} from '@attrstore/attacher'
import { ConfigurationError, type AttributeStorage } from '@attrstore/core'
import type { DataSource, EntityTarget, ObjectLiteral } from 'typeorm'
import { bindingOf } from './set-storage.js'
import { storedAttributeOf } from './staged-upload.js'

export type { CreatedUpload, UploadRequest } from '@attrstore/attacher'

/**
 * Prepares a direct upload for one stored attribute: where and how the client (a browser)
 * sends the file straight to the attribute's storage, and the signed `token` it hands back.
 * The application then saves `claimUpload(token)` into the attribute. The attribute's own
 * `maxSize` and `accept` apply (the tighter size limit wins); the tokens are those given
 * to `setUploadTokens(dataSource, ...)`.
 *
 * ```ts
 * const upload = await createUpload(dataSource, File, 'data', { maxSize: 20 * 2 ** 20, accept: 'image/*' })
 * // send { method, url, fields, headers, token } to the browser
 * ```
 *
 * The storage must declare `createDirectUpload` (S3Storage does; a filesystem storage does
 * behind `withUploadEndpoint()` of `@attrstore/http`).
 */
export async function createUpload<Entity extends ObjectLiteral>(
  dataSource: DataSource,
  entity: EntityTarget<Entity>,
  attribute: string,
  request?: UploadRequest,
): Promise<CreatedUpload>
/**
 * Prepares a direct upload to a storage, for any stored attribute that uses it (by its
 * location): claiming it checks only the request's limits.
 */
export async function createUpload(
  storage: AttributeStorage,
  request: UploadRequest & { tokens: UploadTokens },
): Promise<CreatedUpload>
export async function createUpload<Entity extends ObjectLiteral>(
  target: DataSource | AttributeStorage,
  entityOrRequest: EntityTarget<Entity> | (UploadRequest & { tokens: UploadTokens }),
  attribute?: string,
  request: UploadRequest = {},
): Promise<CreatedUpload> {
  if (isStorage(target)) {
    const { tokens, ...rest } = entityOrRequest as UploadRequest & { tokens: UploadTokens }
    return prepareDirectUpload(target, tokens, rest)
  }
  const stored = storedAttributeOf(target, entityOrRequest as EntityTarget<Entity>, attribute!)
  const { metadata, storage } = stored
  const tokens = bindingOf(target).uploadTokens
  if (!tokens) {
    throw new ConfigurationError(
      'createUpload needs the UploadTokens that sign its token: call setUploadTokens(dataSource, new UploadTokens({ secret })) at start-up',
    )
  }
  return prepareDirectUpload(storage, tokens, request, {
    entity: metadata.name,
    attribute: stored.column.propertyPath,
    limits: stored.options,
  })
}

/** A storage (the contract's required members), not a DataSource. */
function isStorage(value: DataSource | AttributeStorage): value is AttributeStorage {
  return typeof (value as AttributeStorage).write === 'function' && 'location' in value
}
