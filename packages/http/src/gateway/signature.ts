import { timingSafeEqual } from 'node:crypto'
import type { IncomingHttpHeaders } from 'node:http'
import { Hash } from '@smithy/hash-node'
import { SignatureV4 } from '@smithy/signature-v4'
import { parameter, type RequestTarget } from './request-target.js'
import { S3Error } from './s3-error.js'

/** One key pair the gateway accepts. */
export interface GatewayCredential {
  accessKeyId: string
  secretAccessKey: string
}

/** Who sent a request: nobody (anonymous), or the holder of an access key. */
export type Caller = { signed: false } | { signed: true; accessKeyId: string }

/** S3's limit on the distance between a signed request's date and the server's clock. */
const MAX_SKEW_MS = 15 * 60 * 1000
/** S3's longest presigned URL: seven days. */
const MAX_PRESIGNED_SECONDS = 7 * 24 * 3600
const ALGORITHM = 'AWS4-HMAC-SHA256'

/** SHA-256 as `@smithy/signature-v4` wants it: a constructor taking an optional HMAC key. */
/** The request shape the signer signs. */
type SignableRequest = Parameters<SignatureV4['presign']>[0]

class Sha256 extends Hash {
  constructor(secret?: Parameters<typeof Hash.prototype.update>[0]) {
    super('sha256', secret as never)
  }
}

const malformed = (message: string, details: Record<string, string> = {}): S3Error =>
  new S3Error(400, 'AuthorizationHeaderMalformed', message, details)
const mismatch = (): S3Error =>
  new S3Error(
    403,
    'SignatureDoesNotMatch',
    'The request signature we calculated does not match the signature you provided. Check your key and signing method.',
  )
const unsupported = (): S3Error =>
  new S3Error(
    400,
    'InvalidRequest',
    'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.',
  )

/** `20240102T030405Z` as a Date, or undefined. */
function amzDate(value: string | undefined): Date | undefined {
  const match = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value ?? '')
  if (!match) return undefined
  const [, y, mo, d, h, mi, s] = match.map(Number) as number[]
  return new Date(Date.UTC(y!, mo! - 1, d!, h!, mi!, s!))
}

/** What a SigV4 signature says it was made with, from the header or the query. */
interface Claimed {
  accessKeyId: string
  date: string
  region: string
  signedHeaders: string[]
  signature: string
}

function readScope(credential: string): Omit<Claimed, 'signedHeaders' | 'signature'> {
  // The access key id may itself hold '/': the scope is the last four parts.
  const parts = credential.split('/')
  if (parts.length < 5)
    throw malformed(
      'The credential is malformed; expecting "<YOUR-AKID>/YYYYMMDD/REGION/SERVICE/aws4_request".',
    )
  const [date, region, service, terminator] = parts.slice(-4) as [string, string, string, string]
  if (service !== 's3' || terminator !== 'aws4_request' || !/^\d{8}$/.test(date))
    throw malformed(
      'The credential scope is malformed; expecting "YYYYMMDD/REGION/s3/aws4_request".',
    )
  return { accessKeyId: parts.slice(0, -4).join('/'), date, region }
}

function readAuthorizationHeader(header: string): Claimed {
  if (!header.startsWith(`${ALGORITHM} `)) throw unsupported()
  const fields = new Map<string, string>()
  for (const part of header.slice(ALGORITHM.length).split(',')) {
    const equals = part.indexOf('=')
    if (equals !== -1) fields.set(part.slice(0, equals).trim(), part.slice(equals + 1).trim())
  }
  const credential = fields.get('Credential')
  const signedHeaders = fields.get('SignedHeaders')
  const signature = fields.get('Signature')
  if (!credential || !signedHeaders || !signature)
    throw malformed(
      'The authorization header is malformed; it needs Credential, SignedHeaders and Signature.',
    )
  return { ...readScope(credential), signedHeaders: signedHeaders.split(';'), signature }
}

/** A header's value as the canonical request has it: repeated headers joined by commas. */
function headerValue(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name]
  return Array.isArray(value) ? value.join(',') : value
}

/**
 * Checks AWS Signature Version 4, in the `Authorization` header or in a presigned URL's
 * query, by computing the expected signature with `@smithy/signature-v4` (the AWS SDK's own
 * signer) over the canonical request rebuilt from the request exactly as it arrived: the
 * raw path (clients sign the path as they send it, and they encode keys differently), the
 * query decoded and re-encoded the way SigV4 prescribes, and only the headers the client
 * listed as signed. Signatures are compared in constant time.
 */
export class SignatureVerifier {
  private readonly secrets: Map<string, string>

  constructor(
    credentials: readonly GatewayCredential[],
    private readonly region: string,
    private readonly now: () => number = Date.now,
  ) {
    this.secrets = new Map(credentials.map((c) => [c.accessKeyId, c.secretAccessKey]))
  }

  /** Whether the request carries a signature at all (else it is anonymous). */
  static isSigned(headers: IncomingHttpHeaders, target: RequestTarget): boolean {
    return (
      headers.authorization !== undefined ||
      parameter(target.query, 'X-Amz-Signature') !== undefined ||
      parameter(target.query, 'Signature') !== undefined
    )
  }

  /** The caller of a signed request; throws the S3 error a bad signature gets. */
  async verify(
    method: string,
    headers: IncomingHttpHeaders,
    target: RequestTarget,
  ): Promise<Caller> {
    if (headers.authorization !== undefined) return this.verifyHeader(method, headers, target)
    if (parameter(target.query, 'X-Amz-Signature') !== undefined)
      return this.verifyPresigned(method, headers, target)
    throw unsupported() // a SigV2 presigned URL (`AWSAccessKeyId`, `Signature`)
  }

  private secretOf(claimed: Claimed): string {
    // S3 requires the host signed: else a signature is good for any server that shares the key.
    if (!claimed.signedHeaders.includes('host'))
      throw malformed('The authorization header is malformed; SignedHeaders must include host.')
    if (claimed.region !== this.region)
      throw malformed(
        `The authorization header is malformed; the region '${claimed.region}' is wrong; expecting '${this.region}'`,
        { Region: this.region },
      )
    const secret = this.secrets.get(claimed.accessKeyId)
    if (secret === undefined)
      throw new S3Error(
        403,
        'InvalidAccessKeyId',
        'The AWS Access Key Id you provided does not exist in our records.',
        { AWSAccessKeyId: claimed.accessKeyId },
      )
    return secret
  }

  private signer(claimed: Claimed, secretAccessKey: string): SignatureV4 {
    return new SignatureV4({
      credentials: { accessKeyId: claimed.accessKeyId, secretAccessKey },
      region: this.region,
      service: 's3',
      sha256: Sha256,
      // S3 signs the path as sent: no normalisation, no second encoding.
      uriEscapePath: false,
      applyChecksum: false,
    })
  }

  private signable(
    method: string,
    headers: IncomingHttpHeaders,
    target: RequestTarget,
    claimed: Claimed,
    omit: string,
  ): SignableRequest {
    const signed: Record<string, string> = {}
    for (const name of claimed.signedHeaders) {
      const value = headerValue(headers, name)
      if (value === undefined) throw mismatch()
      signed[name] = value
    }
    const query: Record<string, string | string[]> = {}
    for (const [name, values] of Object.entries(target.query))
      if (name !== omit) query[name] = values.length === 1 ? values[0]! : values
    return {
      method,
      protocol: 'http:',
      hostname: headerValue(headers, 'host') ?? '',
      path: target.rawPath,
      query,
      headers: signed,
    }
  }

  private async verifyHeader(
    method: string,
    headers: IncomingHttpHeaders,
    target: RequestTarget,
  ): Promise<Caller> {
    const claimed = readAuthorizationHeader(headerValue(headers, 'authorization')!)
    const secret = this.secretOf(claimed)
    const date = amzDate(headerValue(headers, 'x-amz-date'))
    if (!date)
      throw new S3Error(
        403,
        'AccessDenied',
        'AWS authentication requires a valid x-amz-date header',
      )
    if (Math.abs(this.now() - date.getTime()) > MAX_SKEW_MS)
      throw new S3Error(
        403,
        'RequestTimeTooSkewed',
        'The difference between the request time and the current time is too large.',
      )
    if (headerValue(headers, 'x-amz-content-sha256') === undefined)
      throw new S3Error(
        400,
        'InvalidRequest',
        'Missing required header for this request: x-amz-content-sha256',
      )
    const request = this.signable(method, headers, target, claimed, '')
    const signed = await this.signer(claimed, secret).sign(request, {
      signingDate: date,
      signingRegion: claimed.region,
      signingService: 's3',
      signableHeaders: new Set(claimed.signedHeaders),
    })
    const expected = /Signature=([0-9a-f]+)/.exec(String(signed.headers.authorization))?.[1]
    const expectedHeaders = /SignedHeaders=([^,]+)/.exec(String(signed.headers.authorization))?.[1]
    if (
      expectedHeaders !== claimed.signedHeaders.join(';') ||
      !sameSignature(expected, claimed.signature)
    )
      throw mismatch()
    return { signed: true, accessKeyId: claimed.accessKeyId }
  }

  private async verifyPresigned(
    method: string,
    headers: IncomingHttpHeaders,
    target: RequestTarget,
  ): Promise<Caller> {
    const query = (name: string): string => {
      const value = parameter(target.query, name)
      if (value === undefined)
        throw new S3Error(
          400,
          'AuthorizationQueryParametersError',
          `Query-string authentication version 4 requires the X-Amz-Algorithm, X-Amz-Credential, X-Amz-Signature, X-Amz-Date, X-Amz-SignedHeaders, and X-Amz-Expires parameters (${name} is missing).`,
        )
      return value
    }
    if (query('X-Amz-Algorithm') !== ALGORITHM) throw unsupported()
    const claimed: Claimed = {
      ...readScope(query('X-Amz-Credential')),
      signedHeaders: query('X-Amz-SignedHeaders').split(';'),
      signature: query('X-Amz-Signature'),
    }
    const date = amzDate(query('X-Amz-Date'))
    const expiresIn = Number(query('X-Amz-Expires'))
    if (
      !date ||
      !Number.isSafeInteger(expiresIn) ||
      expiresIn < 0 ||
      expiresIn > MAX_PRESIGNED_SECONDS
    )
      throw new S3Error(
        400,
        'AuthorizationQueryParametersError',
        'X-Amz-Date must be a date in ISO 8601 basic format and X-Amz-Expires a number of seconds between 0 and 604800.',
      )
    const secret = this.secretOf(claimed)
    if (this.now() > date.getTime() + expiresIn * 1000)
      throw new S3Error(403, 'AccessDenied', 'Request has expired', {
        Expires: new Date(date.getTime() + expiresIn * 1000).toISOString(),
        ServerTime: new Date(this.now()).toISOString(),
      })
    if (date.getTime() - this.now() > MAX_SKEW_MS)
      throw new S3Error(403, 'AccessDenied', 'Request is not valid yet')
    const request = this.signable(method, headers, target, claimed, 'X-Amz-Signature')
    // Presigned URLs sign no payload; the signer reads that from this header, kept out of
    // the query and of the signed headers.
    request.headers['x-amz-content-sha256'] ??= 'UNSIGNED-PAYLOAD'
    const presigned = await this.signer(claimed, secret).presign(request, {
      signingDate: date,
      expiresIn,
      signingRegion: claimed.region,
      signingService: 's3',
      signableHeaders: new Set(claimed.signedHeaders),
      unsignableHeaders: new Set(['x-amz-content-sha256']),
      unhoistableHeaders: new Set([...claimed.signedHeaders, 'x-amz-content-sha256']),
    })
    const expected = presigned.query?.['X-Amz-Signature']
    if (
      presigned.query?.['X-Amz-SignedHeaders'] !== claimed.signedHeaders.join(';') ||
      !sameSignature(typeof expected === 'string' ? expected : undefined, claimed.signature)
    )
      throw mismatch()
    return { signed: true, accessKeyId: claimed.accessKeyId }
  }
}

function sameSignature(expected: string | undefined, given: string): boolean {
  if (expected === undefined) return false
  const a = Buffer.from(expected)
  const b = Buffer.from(given)
  return a.length === b.length && timingSafeEqual(a, b)
}
