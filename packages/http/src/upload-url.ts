import { HmacSigner, type HmacSecrets } from '@attrstore/core/driver'
import { isCanonicalWholeNumber, singleParameter } from './signed-query.js'

/** What a signed upload URL of {@link withUploadEndpoint} lets a client send. */
export interface UploadUrlGrant {
  method: 'PUT' | 'POST'
  /** The key the upload is stored under. */
  key: string
  /** Largest body in bytes. */
  maxSize: number
  /** The media type the body must be sent as, when one was asked. */
  contentType?: string
  /** Valid until then (milliseconds since the epoch). */
  expires: number
}

/** Why a URL grants nothing. */
export type UploadUrlRefusal = 'unsigned' | 'expired'

/**
 * Signs upload URLs and reads them back: the query carries the grant and an HMAC-SHA256
 * signature over it and the storage's location (a URL for one storage is void for another
 * under the same secret).
 */
export class UploadUrlSigner {
  private readonly signer: HmacSigner

  constructor(
    secrets: HmacSecrets,
    private readonly location: string,
  ) {
    this.signer = new HmacSigner(secrets, 'attrstore upload url')
  }

  private payload(grant: UploadUrlGrant): string {
    return JSON.stringify([
      grant.method,
      this.location,
      grant.key,
      grant.maxSize,
      grant.contentType ?? null,
      grant.expires,
    ])
  }

  /** `baseUrl` with the grant and its signature in the query. */
  sign(baseUrl: string, grant: UploadUrlGrant): URL {
    const url = new URL(baseUrl)
    url.searchParams.set('key', grant.key)
    url.searchParams.set('max', String(grant.maxSize))
    if (grant.contentType !== undefined) url.searchParams.set('type', grant.contentType)
    url.searchParams.set('expires', String(grant.expires))
    url.searchParams.set('sig', this.signer.sign(this.payload(grant)))
    return url
  }

  /** The grant of a request's query, or why there is none. */
  read(
    method: string,
    query: URLSearchParams,
    now: number,
  ): { grant: UploadUrlGrant } | { refused: UploadUrlRefusal } {
    const single = (name: string) => singleParameter(query, name)
    const key = single('key')
    const maxText = single('max')
    const expiresText = single('expires')
    const type = single('type')
    if (
      !key ||
      !isCanonicalWholeNumber(maxText) ||
      !isCanonicalWholeNumber(expiresText) ||
      type === null ||
      single('sig') === null ||
      (method !== 'PUT' && method !== 'POST')
    )
      return { refused: 'unsigned' }
    const maxSize = Number(maxText)
    const expires = Number(expiresText)
    const contentType = type
    const grant: UploadUrlGrant = {
      method,
      key,
      maxSize,
      expires,
      ...(contentType === undefined ? {} : { contentType }),
    }
    if (!this.signer.verify(this.payload(grant), query.get('sig') ?? ''))
      return { refused: 'unsigned' }
    if (!(now < expires)) return { refused: 'expired' }
    return { grant }
  }
}
