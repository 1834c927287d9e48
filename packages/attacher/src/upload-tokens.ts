import { randomBytes } from 'node:crypto'
import { ConfigurationError, UploadClaimError } from '@attrstore/core'
import { HmacSigner, type HmacSecrets } from '@attrstore/core/driver'

/** The stored attribute an upload is for. */
export interface UploadTarget {
  /** The entity's name (`File`). */
  entity: string
  /** The attribute's property path (`data`, `embedded.data`). */
  attribute: string
}

/** What an upload token grants: claiming one uploaded object, for one target, under these rules. */
export interface UploadGrant {
  /** The key the upload creates: the only object the token can claim. */
  key: string
  /** The `location` of the storage the upload goes to. */
  location: string
  /** The attribute that may claim it; absent: any attribute whose storage has `location`. */
  target?: UploadTarget
  /** Largest size in bytes the object may have. */
  maxSize: number
  /** Accepted media types (`image/png`, `image/*`); absent: any. */
  accept?: readonly string[]
  /** Claimable until then (milliseconds since the epoch). */
  expiresAt: number
  /** Random: two grants of the same key (never made, keys are new) would still differ. */
  nonce: string
}

/**
 * Longest an upload token may stay claimable, upload time included: 12 hours. The garbage
 * collector's default grace period (24 hours, `attrstore gc --grace`) is longer, so gc never
 * deletes an upload that can still be claimed; a shorter `--grace` must stay above the
 * tokens' lifetime ({@link UploadTokens.lifetimeMs}).
 */
export const MAX_UPLOAD_TOKEN_LIFETIME_MS = 12 * 60 * 60 * 1000

export type UploadTokensOptions = HmacSecrets & {
  /** Longest `expiresIn` (seconds) an upload may ask for. Default 3600. */
  maxExpiresIn?: number
  /**
   * Seconds a token stays claimable after its upload URL expires: the time a client has to
   * finish sending and call the application. Default 3600.
   */
  claimWindow?: number
  /** Clock, for tests. */
  now?: () => number
}

const TOKEN_VERSION = 'aup1'

/** The token's JSON, with short names: it travels in URLs and forms. */
interface Encoded {
  k: string
  l: string
  t?: [string, string]
  m: number
  a?: string[]
  x: number
  n: string
}

function seconds(value: number, what: string): number {
  if (!(Number.isSafeInteger(value) && value > 0))
    throw new ConfigurationError(`${what} must be a whole number of seconds > 0, got ${value}`)
  return value
}

/**
 * Issues and reads upload tokens: what a client gets with a direct upload and hands back to
 * claim it (`claimUpload(token)`). A token is HMAC-SHA256-signed over everything it grants
 * (key, storage location, target attribute, size limit, accepted types, expiry, a nonce)
 * with the application's secret; `secrets: [newest, ...older]` rotates secrets.
 *
 * ```ts
 * const tokens = new UploadTokens({ secret: process.env.UPLOAD_SECRET! })
 * ```
 */
export class UploadTokens {
  private readonly signer: HmacSigner
  /** Longest `expiresIn`, in seconds. */
  readonly maxExpiresIn: number
  /** Seconds a token outlives its upload URL. */
  readonly claimWindow: number
  private readonly now: () => number

  constructor(options: UploadTokensOptions) {
    this.signer = new HmacSigner(options, 'attrstore upload token')
    this.maxExpiresIn = seconds(options.maxExpiresIn ?? 3600, 'maxExpiresIn')
    this.claimWindow = seconds(options.claimWindow ?? 3600, 'claimWindow')
    this.now = options.now ?? Date.now
    if (this.lifetimeMs > MAX_UPLOAD_TOKEN_LIFETIME_MS) {
      throw new ConfigurationError(
        `UploadTokens: maxExpiresIn + claimWindow is ${this.lifetimeMs / 1000} s, over the ${MAX_UPLOAD_TOKEN_LIFETIME_MS / 3_600_000} h ` +
          "limit that keeps claimable uploads safe from attrstore gc's default grace period (24 h)",
      )
    }
  }

  /** The longest a token stays claimable from its creation: keep gc's grace period above it. */
  get lifetimeMs(): number {
    return (this.maxExpiresIn + this.claimWindow) * 1000
  }

  /** The current time, as the tokens see it. */
  currentTime(): number {
    return this.now()
  }

  /** Checks an upload's `expiresIn` (seconds) against `maxExpiresIn`. */
  checkExpiresIn(expiresIn: number): number {
    seconds(expiresIn, 'expiresIn')
    if (expiresIn > this.maxExpiresIn)
      throw new ConfigurationError(
        `expiresIn ${expiresIn} s is over this UploadTokens' maxExpiresIn (${this.maxExpiresIn} s)`,
      )
    return expiresIn
  }

  /** Signs a grant whose upload URL expires at `uploadExpiresAt`; returns the token and its expiry. */
  issue(
    grant: Omit<UploadGrant, 'nonce' | 'expiresAt'>,
    uploadExpiresAt: Date,
  ): { token: string; claimableUntil: Date } {
    const expiresAt = uploadExpiresAt.getTime() + this.claimWindow * 1000
    const encoded: Encoded = {
      k: grant.key,
      l: grant.location,
      ...(grant.target ? { t: [grant.target.entity, grant.target.attribute] } : {}),
      m: grant.maxSize,
      ...(grant.accept ? { a: [...grant.accept] } : {}),
      x: expiresAt,
      n: randomBytes(16).toString('base64url'),
    }
    const payload = `${TOKEN_VERSION}.${Buffer.from(JSON.stringify(encoded)).toString('base64url')}`
    return { token: `${payload}.${this.signer.sign(payload)}`, claimableUntil: new Date(expiresAt) }
  }

  /**
   * The grant of a genuine, unexpired token. Throws `UploadClaimError` with reason
   * `malformed`, `tampered` or `expired` otherwise.
   */
  read(token: unknown): UploadGrant {
    const parts = typeof token === 'string' ? token.split('.') : []
    if (parts.length !== 3 || parts[0] !== TOKEN_VERSION)
      throw new UploadClaimError('malformed', 'this is no attrstore upload token')
    const payload = `${parts[0]}.${parts[1]}`
    if (!this.signer.verify(payload, parts[2]!))
      throw new UploadClaimError('tampered', 'the token was not signed with a configured secret')
    const encoded = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as Encoded
    const grant: UploadGrant = {
      key: encoded.k,
      location: encoded.l,
      ...(encoded.t ? { target: { entity: encoded.t[0], attribute: encoded.t[1] } } : {}),
      maxSize: encoded.m,
      ...(encoded.a ? { accept: encoded.a } : {}),
      expiresAt: encoded.x,
      nonce: encoded.n,
    }
    if (!(this.now() < grant.expiresAt)) {
      throw new UploadClaimError(
        'expired',
        `the token expired at ${new Date(grant.expiresAt).toISOString()}`,
        grant.key,
      )
    }
    return grant
  }
}
