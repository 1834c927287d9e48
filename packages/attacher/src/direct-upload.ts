import { ConfigurationError, type AttributeStorage, type DirectUpload } from '@attrstore/core'
import { acceptedMediaRanges } from '@attrstore/core/driver'
import type { UploadTarget, UploadTokens } from './upload-tokens.js'

/** What the application asks of one direct upload. */
export interface UploadRequest {
  /** Largest size in bytes; the attribute's own `maxSize`, when smaller, wins. */
  maxSize?: number
  /**
   * Accepted media types (`image/png`, `image/*`, or a list), checked on the content at
   * claim; anything else is a `ConfigurationError`.
   */
  accept?: string | readonly string[]
  /** Seconds the upload URL stays valid. Default 600; at most the tokens' `maxExpiresIn`. */
  expiresIn?: number
  /** The client's file name: storages that keep extensions use it for the key. */
  fileName?: string
  /** The media type the client must send (the store refuses another one). */
  contentType?: string
}

/** The limits the attribute itself declares, which an upload cannot loosen. */
export interface AttributeLimits {
  maxSize?: number | undefined
  accept?: string | readonly string[] | undefined
}

/** What a client needs to upload, and the token it hands back to claim the upload. */
export interface CreatedUpload extends DirectUpload {
  /** Give it back to the application, which saves `claimUpload(token)` into the attribute. */
  token: string
  /** Until when the token can be claimed (after `expiresAt`, by the tokens' `claimWindow`). */
  claimableUntil: Date
}

/**
 * Prepares a direct upload to `storage` through its declared `createDirectUpload`, and signs
 * its token. `target`: the attribute it is for (absent: any attribute on this storage) and
 * the limits it declares; the tighter size limit applies, and both media-type lists are
 * checked at claim (the token carries the request's, the attribute's are read then).
 */
export async function prepareDirectUpload(
  storage: AttributeStorage,
  tokens: UploadTokens,
  request: UploadRequest,
  target?: UploadTarget & { limits: AttributeLimits },
): Promise<CreatedUpload> {
  if (!storage.createDirectUpload) {
    throw new ConfigurationError(
      `The storage at ${storage.location} declares no createDirectUpload: it cannot take uploads ` +
        'from clients. S3Storage can; for a filesystem or memory storage, wrap it with ' +
        "withUploadEndpoint() from '@attrstore/http' and serve its upload endpoint.",
    )
  }
  const limits = [request.maxSize, target?.limits.maxSize].filter(
    (limit): limit is number => limit !== undefined,
  )
  for (const limit of limits) {
    if (!(Number.isSafeInteger(limit) && limit >= 0))
      throw new ConfigurationError(`maxSize must be a byte count, got ${limit}`)
  }
  if (!limits.length) {
    throw new ConfigurationError(
      'A direct upload needs a size limit: give maxSize (or declare one on the attribute)',
    )
  }
  const maxSize = Math.min(...limits)
  const expiresIn = tokens.checkExpiresIn(request.expiresIn ?? 600)
  // Only the request's own list goes into the token: the attribute's rules are read again
  // at claim (one check of the stored object, not two of the same list).
  const accept =
    request.accept === undefined ? undefined : acceptedMediaRanges(request.accept, 'createUpload')
  const upload = await storage.createDirectUpload({
    context: {
      ...(target ? { entityName: target.entity, attributeName: target.attribute } : {}),
      ...(request.fileName ? { fileName: request.fileName } : {}),
    },
    maxSize,
    ...(request.contentType ? { contentType: request.contentType } : {}),
    expiresIn,
  })
  const { token, claimableUntil } = tokens.issue(
    {
      key: upload.key,
      location: storage.location,
      ...(target ? { target: { entity: target.entity, attribute: target.attribute } } : {}),
      maxSize,
      ...(accept ? { accept } : {}),
    },
    upload.expiresAt,
  )
  return { ...upload, token, claimableUntil }
}
