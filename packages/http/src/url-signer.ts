import {
  ConfigurationError,
  type AttributeStorage,
  type SignedUrl,
  type SignedUrlOptions,
} from '@attrstore/core'
import { HmacSigner, MIN_SECRET_BYTES, type HmacSecret } from '@attrstore/core/driver'
import { isCanonicalWholeNumber, singleParameter } from './signed-query.js'

export { MIN_SECRET_BYTES }

/** A secret of at least {@link MIN_SECRET_BYTES} bytes: random bytes, or a string of them (hex, base64...). */
export type UrlSecret = HmacSecret

/** Options of {@link createUrlSigner}. */
export interface UrlSignerOptions {
  /**
   * The secret URLs are signed with, or several, newest first, to rotate: URLs are signed
   * with the first and accepted with any (drop an old one once every URL it signed has
   * expired). Each at least {@link MIN_SECRET_BYTES} bytes; e.g. `randomBytes(32)` kept in
   * the application's configuration.
   */
  secrets: UrlSecret | readonly UrlSecret[]
  /**
   * The URL of the application's route that serves signed URLs (it calls
   * `serveSignedUrl`), e.g. `https://app.example/files/signed`. The grant is in its query.
   */
  baseUrl: string | URL
  /** The clock, in milliseconds since the epoch. Default `Date.now`. */
  now?: () => number
}

/** What a valid signed URL grants: one object of one storage, presented as it says, until it expires. */
export interface SignedGrant {
  storage: AttributeStorage
  key: string
  expiresAt: Date
  disposition?: 'inline' | 'attachment'
  fileName?: string
  contentType?: string
}

/** Why a URL grants nothing. */
export type RejectionReason = 'malformed' | 'bad-signature' | 'expired'

/** The outcome of {@link UrlSigner.verify}. */
export type Verification = { granted: SignedGrant } | { rejected: RejectionReason }

/** The query parameters of a signed URL. */
const PARAMETER = {
  key: 'key',
  expires: 'expires',
  disposition: 'disposition',
  fileName: 'filename',
  contentType: 'type',
  signature: 'signature',
} as const

/**
 * Signs and verifies download URLs for storages that cannot presign their own (the
 * filesystem, memory, an S3-compatible server without presigning): an HMAC-SHA-256 over
 * everything the URL grants (the storage's location, the key, the expiry, the disposition,
 * file name and media type), compared in constant time.
 */
export class UrlSigner {
  private readonly hmac: HmacSigner
  private readonly baseUrl: URL
  private readonly now: () => number

  constructor(options: UrlSignerOptions) {
    const secrets = Array.isArray(options.secrets)
      ? (options.secrets as readonly UrlSecret[])
      : [options.secrets as UrlSecret]
    // Its own purpose: what an upload URL or token signed never passes for a download.
    this.hmac = new HmacSigner({ secrets }, 'UrlSigner')
    try {
      this.baseUrl = new URL(options.baseUrl)
    } catch (error) {
      throw new ConfigurationError(
        `UrlSigner: baseUrl ${JSON.stringify(String(options.baseUrl))} is no absolute URL`,
        { cause: error },
      )
    }
    this.now = options.now ?? Date.now
  }

  /**
   * A URL of the application's route that serves `key` of `storage` until `expiresIn`
   * seconds from now, presented as `options` say. The shape of `storage.signedUrl`'s.
   */
  signedUrl(storage: AttributeStorage, key: string, options: SignedUrlOptions): SignedUrl {
    const { expiresIn } = options
    if (!(Number.isSafeInteger(expiresIn) && expiresIn > 0)) {
      throw new ConfigurationError(
        `expiresIn must be a whole number of seconds > 0, got ${String(expiresIn)}`,
      )
    }
    const expires = Math.floor(this.now() / 1000) + expiresIn
    const url = new URL(this.baseUrl)
    const query = url.searchParams
    query.set(PARAMETER.key, key)
    query.set(PARAMETER.expires, String(expires))
    if (options.disposition) query.set(PARAMETER.disposition, options.disposition)
    if (options.fileName !== undefined) query.set(PARAMETER.fileName, options.fileName)
    if (options.contentType !== undefined) query.set(PARAMETER.contentType, options.contentType)
    const grant = { key, expires, ...options }
    query.set(PARAMETER.signature, this.hmac.sign(grantPayload(storage.location, grant)))
    return { url: url.href, expiresAt: new Date(expires * 1000) }
  }

  /**
   * What `url` (absolute, or a request's path and query) grants, if it was signed by this
   * signer (with any of its secrets) for one of `storages` and has not expired. Computes
   * nothing but HMACs: no storage is asked anything.
   */
  verify(
    url: string | URL,
    storages: AttributeStorage | readonly AttributeStorage[],
  ): Verification {
    const query = new URL(url, 'http://signed.invalid').searchParams
    const single = (name: string) => singleParameter(query, name)
    const key = single(PARAMETER.key)
    const expiresText = single(PARAMETER.expires)
    const disposition = single(PARAMETER.disposition)
    const fileName = single(PARAMETER.fileName)
    const contentType = single(PARAMETER.contentType)
    const signature = single(PARAMETER.signature)
    if (
      !key ||
      !isCanonicalWholeNumber(expiresText) ||
      !signature ||
      fileName === null ||
      contentType === null ||
      (disposition !== undefined && disposition !== 'inline' && disposition !== 'attachment')
    )
      return { rejected: 'malformed' }
    const expires = Number(expiresText)
    const grant = {
      key,
      expires,
      ...(disposition ? { disposition: disposition as 'inline' | 'attachment' } : {}),
      ...(fileName === undefined ? {} : { fileName }),
      ...(contentType === undefined ? {} : { contentType }),
    }
    const candidates = Array.isArray(storages)
      ? (storages as readonly AttributeStorage[])
      : [storages as AttributeStorage]
    let signedFor: AttributeStorage | undefined
    // Every storage is tried (no early exit), as HmacSigner tries every secret: the time
    // taken tells nothing.
    for (const storage of candidates) {
      if (this.hmac.verify(grantPayload(storage.location, grant), signature)) signedFor ??= storage
    }
    if (!signedFor) return { rejected: 'bad-signature' }
    if (this.now() >= expires * 1000) return { rejected: 'expired' }
    const { expires: _seconds, ...granted } = grant
    return { granted: { ...granted, storage: signedFor, expiresAt: new Date(expires * 1000) } }
  }
}

/** What the HMAC of a grant covers: its fields as a JSON array (unambiguous, whatever a file name holds). */
function grantPayload(
  location: string,
  grant: { key: string; expires: number } & Omit<SignedUrlOptions, 'expiresIn'>,
): string {
  return JSON.stringify([
    'attrstore-signed-url-v1',
    location,
    grant.key,
    grant.expires,
    grant.disposition ?? null,
    grant.fileName ?? null,
    grant.contentType ?? null,
  ])
}

/** A {@link UrlSigner}. */
export function createUrlSigner(options: UrlSignerOptions): UrlSigner {
  return new UrlSigner(options)
}
