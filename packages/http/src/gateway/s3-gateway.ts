import { randomBytes } from 'node:crypto'
import type { IncomingMessage, RequestListener, ServerResponse } from 'node:http'
import { ConfigurationError, type AttributeStorage } from '@attrstore/core'
import { ContentHashes } from './content-hashes.js'
import { ContinuationTokens } from './continuation-token.js'
import { CorsPolicy, type GatewayCors } from './cors.js'
import { Listings, OWNER, ownerElement } from './listing.js'
import { ListingSnapshots } from './listing-snapshots.js'
import { respondWithObject, visibleObject } from './object-response.js'
import { readRequestTarget, type RequestTarget } from './request-target.js'
import { errorDocument, noSuchBucket, notImplemented, readOnly, S3Error } from './s3-error.js'
import { ServedBuckets, type GatewayBucket, type ServedBucket } from './served-buckets.js'
import { SignatureVerifier, type Caller, type GatewayCredential } from './signature.js'
import { document, element, escapeXml, isoDate, text } from './xml.js'

/** Options of {@link createS3Gateway}. */
export interface S3GatewayOptions {
  /** The served buckets by name: a storage, or the part of one under a prefix. */
  buckets: Record<string, AttributeStorage | GatewayBucket>
  /** The key pairs accepted in SigV4 signatures (header or presigned URL). */
  credentials?: readonly GatewayCredential[]
  /** Serve unsigned requests too. Signed ones are still checked. Default false. */
  anonymous?: boolean
  /** Origins allowed to read from web pages; none by default. */
  cors?: GatewayCors
  /**
   * Hidden buckets (`"archive"`) and prefixes (`"files/private/"`): answered exactly as
   * absent ones, never listed. attrstore's reserved `.attrstore/` is always hidden.
   */
  hidden?: readonly string[]
  /** The region clients sign for and `GetBucketLocation` reports. Default `us-east-1`. */
  region?: string
}

/** A Node request listener serving buckets the S3 way, read-only; `close()` frees its temporary files. */
export interface S3Gateway extends RequestListener {
  close(): Promise<void>
}

/** Bucket subresources served; any other (`?policy`, `?cors`...) is NotImplemented. */
const BUCKET_SUBRESOURCES = new Set(['location', 'acl', 'list-type', 'versioning'])
/** Query parameters that address a subresource or operation, not options of GET itself. */
const SUBRESOURCES = new Set([
  'accelerate',
  'acl',
  'analytics',
  'attributes',
  'cors',
  'delete',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'legal-hold',
  'lifecycle',
  'location',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'partNumber',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'restore',
  'retention',
  'select',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
  'versioning',
  'versions',
  'website',
  'list-type',
])

const requestId = (): string => randomBytes(8).toString('hex').toUpperCase()

/**
 * An S3-compatible, read-only gateway over any `AttributeStorage`s, for real S3 clients
 * (the aws CLI, boto3, s3cmd, rclone, the SDKs, attrstore's own `S3Storage`) and for
 * viewers reading from web pages (Neuroglancer): ListBuckets, HeadBucket,
 * GetBucketLocation, GetBucketAcl, ListObjectsV2 and ListObjects, HeadObject and
 * GetObject (one range, conditional requests). Path-style addressing only. Writes are
 * refused (403 AccessDenied); other operations answer 501 NotImplemented.
 *
 * @example
 * ```ts
 * http.createServer(createS3Gateway({ buckets: { files: storage }, anonymous: true })).listen(9000)
 * ```
 */
export function createS3Gateway(options: S3GatewayOptions): S3Gateway {
  const credentials = options.credentials ?? []
  if (!options.anonymous && credentials.length === 0)
    throw new ConfigurationError(
      'S3 gateway: give credentials, or anonymous: true to serve unsigned requests',
    )
  const region = options.region ?? 'us-east-1'
  const buckets = new ServedBuckets(options.buckets, options.hidden)
  const verifier = new SignatureVerifier(credentials, region)
  const cors = new CorsPolicy(options.cors)
  const hashes = new ContentHashes()
  const snapshots = new ListingSnapshots()
  const listings = new Listings(snapshots, new ContinuationTokens(), hashes)
  const created = new Date()

  const bucketOf = (target: RequestTarget): ServedBucket => {
    const bucket = buckets.get(target.bucket!)
    if (!bucket) throw noSuchBucket(target.bucket!)
    return bucket
  }

  async function authenticate(request: IncomingMessage, target: RequestTarget): Promise<Caller> {
    if (SignatureVerifier.isSigned(request.headers, target))
      return verifier.verify(request.method ?? 'GET', request.headers, target)
    if (!options.anonymous) throw new S3Error(403, 'AccessDenied', 'Access Denied')
    return { signed: false }
  }

  function sendXml(response: ServerResponse, status: number, body: string): void {
    response.statusCode = status
    response.setHeader('Content-Type', 'application/xml')
    response.setHeader('Content-Length', String(Buffer.byteLength(body)))
    response.end(body)
  }

  async function serve(
    request: IncomingMessage,
    response: ServerResponse,
    target: RequestTarget,
  ): Promise<void> {
    const method = request.method ?? 'GET'
    if (method === 'OPTIONS') {
      if (!cors.preflight(request, response))
        throw new S3Error(403, 'AccessForbidden', 'CORSResponse: This CORS request is not allowed.')
      return
    }
    const caller = await authenticate(request, target)
    if (method !== 'GET' && method !== 'HEAD') throw readOnly()
    const subresource = Object.keys(target.query).find((name) => SUBRESOURCES.has(name))
    if (target.bucket === undefined) {
      const listed = buckets.list()
      return sendXml(
        response,
        200,
        document('ListAllMyBucketsResult', [
          ownerElement(),
          element(
            'Buckets',
            listed.map((bucket) =>
              element('Bucket', [
                text('Name', bucket.name),
                text('CreationDate', isoDate(created)),
              ]),
            ),
          ),
        ]),
      )
    }
    const bucket = bucketOf(target)
    if (target.key === undefined) {
      if (subresource !== undefined && !BUCKET_SUBRESOURCES.has(subresource))
        throw notImplemented(`The bucket subresource ?${subresource}`)
      if (method === 'HEAD') {
        response.setHeader('x-amz-bucket-region', region)
        response.statusCode = 200
        return void response.end()
      }
      if (subresource === 'location')
        // us-east-1 is S3's empty LocationConstraint.
        return sendXml(
          response,
          200,
          document('LocationConstraint', [escapeXml(region === 'us-east-1' ? '' : region)]),
        )
      if (subresource === 'acl') return sendXml(response, 200, aclDocument())
      // Never versioned: S3's answer for a bucket whose versioning was never enabled.
      if (subresource === 'versioning')
        return sendXml(response, 200, document('VersioningConfiguration', []))
      const body =
        subresource === 'list-type'
          ? target.query['list-type']![0] === '2'
            ? await listings.listV2(bucket, target.query)
            : throwInvalidListType()
          : await listings.listV1(bucket, target.query)
      return sendXml(response, 200, body)
    }
    if (subresource === 'acl') {
      await visibleObject(bucket, target.key)
      return sendXml(response, 200, aclDocument())
    }
    if (subresource !== undefined && subresource !== 'versionId')
      throw notImplemented(`The object subresource ?${subresource}`)
    await respondWithObject({
      request,
      response,
      bucket,
      key: target.key,
      query: target.query,
      signed: caller.signed,
      hashes,
    })
  }

  const listener = (request: IncomingMessage, response: ServerResponse): void => {
    const id = requestId()
    response.setHeader('x-amz-request-id', id)
    response.setHeader('x-amz-id-2', Buffer.from(id).toString('base64'))
    response.setHeader('Server', 'attrstore')
    cors.decorate(request, response)
    // Nothing of a request body is read; drain it so the connection can be reused.
    request.resume()
    let target: RequestTarget | undefined
    void (async () => {
      try {
        target = readRequestTarget(request.url)
        await serve(request, response, target)
      } catch (error) {
        if (response.headersSent) return void response.destroy(error as Error)
        const s3Error =
          error instanceof S3Error
            ? error
            : new S3Error(
                500,
                'InternalError',
                'We encountered an internal error. Please try again.',
              )
        if (!(error instanceof S3Error)) console.error('S3 gateway:', error)
        for (const name of ['ETag', 'Last-Modified', 'x-amz-meta-sha256', 'Accept-Ranges'])
          response.removeHeader(name)
        const resource = target?.rawPath ?? '/'
        if (request.method === 'HEAD') {
          response.statusCode = s3Error.status
          return void response.end()
        }
        sendXml(response, s3Error.status, errorDocument(s3Error, resource, id))
      }
    })()
  }
  return Object.assign(listener, { close: () => snapshots.close() })
}

function throwInvalidListType(): never {
  throw new S3Error(400, 'InvalidArgument', 'Invalid List Type specified in Request', {
    ArgumentName: 'list-type',
  })
}

/** The one grant there is: the owner's full control (the gateway has no other principals). */
function aclDocument(): string {
  return document('AccessControlPolicy', [
    ownerElement(),
    element('AccessControlList', [
      `<Grant><Grantee xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" xsi:type="CanonicalUser">${text('ID', OWNER.id)}${text('DisplayName', OWNER.name)}</Grantee>${text('Permission', 'FULL_CONTROL')}</Grant>`,
    ]),
  ])
}
