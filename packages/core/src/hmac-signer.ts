import { createHmac, timingSafeEqual } from 'node:crypto'
import { ConfigurationError } from './errors.js'

/** A secret as given by the application: text (UTF-8) or raw bytes. */
export type HmacSecret = string | Uint8Array

/**
 * The secrets an {@link HmacSigner} uses: one `secret`, or `secrets` for rotation (the
 * first signs, every one verifies, so a new secret can be put first while what the old
 * one signed stays valid until it expires).
 */
export type HmacSecrets = { secret: HmacSecret } | { secrets: readonly HmacSecret[] }

/**
 * Shortest secret accepted, in bytes: 256 bits, the size of an HMAC-SHA-256 key that is
 * neither padded nor hashed down.
 */
export const MIN_SECRET_BYTES = 32

/**
 * Signs and verifies strings with HMAC-SHA256: what signed URLs and upload tokens share.
 * Each signer has a `purpose` mixed into every signature, so that what one purpose signed
 * (an upload URL) never passes for another's (a claim token) under the same secret.
 * Signatures are base64url; verification compares in constant time.
 */
export class HmacSigner {
  private readonly secrets: readonly Buffer[]

  constructor(
    secrets: HmacSecrets,
    private readonly purpose: string,
  ) {
    const list = 'secrets' in secrets ? secrets.secrets : [secrets.secret]
    if (!list.length) throw new ConfigurationError(`${purpose}: give at least one secret`)
    this.secrets = list.map((secret, index) => {
      const bytes = typeof secret === 'string' ? Buffer.from(secret, 'utf8') : Buffer.from(secret)
      if (bytes.length < MIN_SECRET_BYTES) {
        throw new ConfigurationError(
          `${purpose}: secret #${index + 1} has ${bytes.length} bytes; use at least ${MIN_SECRET_BYTES} random bytes ` +
            "(e.g. crypto.randomBytes(32).toString('base64url'))",
        )
      }
      return bytes
    })
  }

  private mac(secret: Buffer, payload: string): Buffer {
    return createHmac('sha256', secret)
      .update(this.purpose)
      .update('\u0000')
      .update(payload)
      .digest()
  }

  /** The signature of `payload`, with the first secret. */
  sign(payload: string): string {
    return this.mac(this.secrets[0]!, payload).toString('base64url')
  }

  /** Whether `signature` is `payload`'s under any of the secrets, compared in constant time. */
  verify(payload: string, signature: string): boolean {
    const given = Buffer.from(signature, 'base64url')
    // Node's decoder skips what is no base64url (padding, stray characters, unused bits):
    // only the one spelling sign() makes is a signature, so a URL or token has one form.
    if (given.toString('base64url') !== signature) return false
    let valid = false
    for (const secret of this.secrets) {
      const expected = this.mac(secret, payload)
      // Every secret is tried, so the time does not tell which one matched.
      if (given.length === expected.length && timingSafeEqual(given, expected)) valid = true
    }
    return valid
  }
}
