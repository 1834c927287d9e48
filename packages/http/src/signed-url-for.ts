import { ConfigurationError, type SignedUrl } from '@attrstore/core'
import { attachedAttribute } from '@attrstore/attacher'
import type { AttributePath } from './send-attribute.js'
import { presentationOf, type Disposition } from './safe-disposition.js'
import type { UrlSigner } from './url-signer.js'

/** Options of {@link signedUrlFor}. */
export interface SignedUrlForOptions {
  /** Seconds the URL stays valid. */
  expiresIn: number
  /**
   * Signs the URL when the attribute's storage cannot presign one itself (it has no
   * `signedUrl`); its route serves it with `serveSignedUrl`.
   */
  signer?: UrlSigner | undefined
  /**
   * `inline` shows the content in the browser; default `attachment`. Inline is granted
   * only for a media type known to be passive (see below); otherwise the URL says
   * `attachment`.
   */
  disposition?: Disposition | undefined
  /** Default: the attribute's `fileName` option for this entity. */
  fileName?: string | undefined
  /** Default: the attribute's `contentType` option for this entity. */
  contentType?: string | undefined
  /** Grant `inline` to active content (HTML, SVG, XML, JavaScript): see `SendObjectOptions.allowActiveContentInline`. */
  allowActiveContentInline?: boolean | undefined
}

/**
 * A URL a browser can download `entity`'s stored `attribute` from, until `expiresIn`
 * seconds from now: the storage's own presigned URL where it declares `signedUrl` (S3),
 * else one signed by `signer` for the application's route. Key, storage, media type and
 * file name come from what attrstore recorded when it loaded or saved the entity.
 *
 * Throws `NullAttributeError` for a null attribute, `AttributeNotAttachedError` for an
 * entity attrstore did not load or save, `ConfigurationError` when the storage cannot
 * presign and no `signer` is given.
 */
export async function signedUrlFor<Entity extends object>(
  entity: Entity,
  attribute: AttributePath<Entity>,
  options: SignedUrlForOptions,
): Promise<SignedUrl> {
  const object = attachedAttribute(entity, attribute)
  const contentType = options.contentType ?? object.contentType
  const fileName = options.fileName ?? object.fileName
  // A presigned URL is served by the backend, which applies no policy of its own: the URL
  // asks for the presentation sendObject would give (inline only for a known passive type,
  // or active content vouched for), with the type that decision was made on.
  const presentation = presentationOf({
    contentType,
    fileName,
    disposition: options.disposition ?? 'attachment',
    allowActiveContentInline: options.allowActiveContentInline === true,
  })
  const inline = presentation.disposition === 'inline'
  const urlContentType = contentType ?? (inline ? presentation.contentType : undefined)
  const urlOptions = {
    expiresIn: options.expiresIn,
    disposition: presentation.disposition,
    ...(fileName === undefined ? {} : { fileName }),
    ...(urlContentType === undefined ? {} : { contentType: urlContentType }),
  }
  const { storage, key } = object
  if (storage.signedUrl) return storage.signedUrl(key, urlOptions)
  if (!options.signer) {
    throw new ConfigurationError(
      `signedUrlFor: the storage of ${entity.constructor.name}.${attribute} (${storage.location}) ` +
        'cannot presign URLs: give a signer (createUrlSigner) whose route calls serveSignedUrl',
    )
  }
  return options.signer.signedUrl(storage, key, urlOptions)
}
