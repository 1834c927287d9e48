import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto'
import { invalidArgument } from './s3-error.js'

/** What a ListObjectsV2 continuation token carries: the listing it continues, and where. */
export interface Continuation {
  /** The listing: bucket, prefix and delimiter the token was issued for. */
  listing: string
  /** The last key (or common prefix) served: where a rebuilt listing goes on after. */
  after: string
  /** The snapshot holding the rest, and the byte offset of the next entry in it. */
  snapshot?: string | undefined
  offset?: number | undefined
}

const invalidToken = (): ReturnType<typeof invalidArgument> =>
  invalidArgument('The continuation token provided is incorrect', 'continuation-token')

/**
 * Opaque, tamper-safe continuation tokens: the continuation as base64url JSON followed by
 * its HMAC-SHA-256 under a key of this gateway. A token altered, made up, or issued for
 * another listing is refused as S3 refuses one (400 InvalidArgument).
 */
export class ContinuationTokens {
  private readonly key: Buffer

  constructor(key: Buffer = randomBytes(32)) {
    this.key = key
  }

  issue(continuation: Continuation): string {
    const body = Buffer.from(JSON.stringify(continuation)).toString('base64url')
    return `${body}.${this.mac(body).toString('base64url')}`
  }

  /** The continuation of a token issued for `listing`; throws InvalidArgument otherwise. */
  read(token: string, listing: string): Continuation {
    const dot = token.indexOf('.')
    if (dot === -1) throw invalidToken()
    const body = token.slice(0, dot)
    const given = Buffer.from(token.slice(dot + 1), 'base64url')
    const expected = this.mac(body)
    if (given.length !== expected.length || !timingSafeEqual(given, expected)) throw invalidToken()
    const continuation = JSON.parse(Buffer.from(body, 'base64url').toString('utf8')) as Continuation
    if (continuation.listing !== listing) throw invalidToken()
    return continuation
  }

  private mac(body: string): Buffer {
    return createHmac('sha256', this.key).update(body).digest()
  }
}
