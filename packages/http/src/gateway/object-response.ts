import { validateHeaderValue, type IncomingMessage, type ServerResponse } from 'node:http'
import { pipeline } from 'node:stream/promises'
import { isAttrstoreError, type ObjectStat } from '@attrstore/core'
import { entityTagOf } from '../entity-tag.js'
import { evaluatePreconditions, rangeStillValid } from '../preconditions.js'
import { contentRange, readRangeRequest, unsatisfiedContentRange } from '../range.js'
import type { ContentHashes } from './content-hashes.js'
import { parameter, type QueryParameters } from './request-target.js'
import { invalidArgument, noSuchKey, S3Error } from './s3-error.js'
import type { ServedBucket } from './served-buckets.js'

/** `response-*` query parameters and the headers they set, as S3 honours them. */
const OVERRIDES = {
  'response-content-type': 'Content-Type',
  'response-content-language': 'Content-Language',
  'response-expires': 'Expires',
  'response-cache-control': 'Cache-Control',
  'response-content-disposition': 'Content-Disposition',
  'response-content-encoding': 'Content-Encoding',
} as const

/** What GetObject and HeadObject need of a request. */
export interface ObjectRequest {
  request: IncomingMessage
  response: ServerResponse
  bucket: ServedBucket
  key: string
  query: QueryParameters
  /** Whether the request was signed: S3 honours `response-*` overrides on signed requests only. */
  signed: boolean
  hashes: ContentHashes
}

/** The stat of a visible object; NoSuchKey for a missing or hidden one, alike. */
export async function visibleObject(bucket: ServedBucket, key: string): Promise<ObjectStat> {
  if (bucket.isHidden(key)) throw noSuchKey(key)
  try {
    return await bucket.storage.stat(bucket.storageKey(key))
  } catch (error) {
    // A key the storage refuses (`../x`) names nothing: as missing, never as invalid.
    if (
      isAttrstoreError(error, 'ATTRSTORE_NOT_FOUND') ||
      isAttrstoreError(error, 'ATTRSTORE_INVALID_KEY')
    )
      throw noSuchKey(key)
    throw error
  }
}

/**
 * GetObject and HeadObject: the preconditions (RFC 9110 order, as S3), one `Range`
 * (206; 416 InvalidRange when unsatisfiable), `If-Range`, the ETag (the quoted SHA-256,
 * see {@link ContentHashes}), `x-amz-meta-sha256`, the `response-*` overrides; the body
 * streamed from the storage, never buffered.
 */
export async function respondWithObject(object: ObjectRequest): Promise<void> {
  const { request, response, bucket, key, query } = object
  const overrides = Object.keys(OVERRIDES).filter((name) => parameter(query, name) !== undefined)
  if (overrides.length && !object.signed)
    throw new S3Error(
      400,
      'InvalidRequest',
      'Request specific response headers cannot be used for anonymous GET requests.',
    )
  for (const name of overrides) {
    try {
      validateHeaderValue(OVERRIDES[name as keyof typeof OVERRIDES], parameter(query, name)!)
    } catch {
      // CR LF would start a header of the caller's choosing: refused before anything is sent.
      throw invalidArgument(`Invalid value for ${name}`, name, parameter(query, name))
    }
  }
  const stat = await visibleObject(bucket, key)
  const sha256 = await object.hashes.of(bucket.storage, stat)
  const etag = entityTagOf(sha256)
  const validators = { etag, lastModified: stat.lastModified }
  const method = request.method === 'HEAD' ? 'HEAD' : 'GET'

  response.setHeader('ETag', etag)
  if (stat.lastModified) response.setHeader('Last-Modified', stat.lastModified.toUTCString())
  response.setHeader('x-amz-meta-sha256', sha256)
  response.setHeader('Accept-Ranges', 'bytes')

  const outcome = evaluatePreconditions(method, request.headers, validators)
  if (outcome === 'not-modified') {
    response.statusCode = 304
    response.end()
    return
  }
  if (outcome === 'precondition-failed')
    throw new S3Error(
      412,
      'PreconditionFailed',
      'At least one of the pre-conditions you specified did not hold',
    )

  const ifRange = request.headers['if-range']
  const range = rangeStillValid(typeof ifRange === 'string' ? ifRange : undefined, validators)
    ? readRangeRequest(request.headers.range, stat.size)
    : ({ kind: 'whole' } as const)
  if (range.kind === 'unsatisfiable') {
    response.setHeader('Content-Range', unsatisfiedContentRange(stat.size))
    throw new S3Error(416, 'InvalidRange', 'The requested range is not satisfiable', {
      RangeRequested: request.headers.range ?? '',
      ActualObjectSize: String(stat.size),
    })
  }

  response.setHeader('Content-Type', stat.contentType ?? 'binary/octet-stream')
  for (const name of overrides)
    response.setHeader(OVERRIDES[name as keyof typeof OVERRIDES], parameter(query, name)!)
  if (range.kind === 'partial') {
    response.statusCode = 206
    response.setHeader('Content-Range', contentRange(range.start, range.end, stat.size))
    response.setHeader('Content-Length', String(range.end - range.start + 1))
  } else {
    response.statusCode = 200
    response.setHeader('Content-Length', String(stat.size))
  }
  if (method === 'HEAD' || stat.size === 0) {
    response.end()
    return
  }
  const opened = await bucket.storage.open(bucket.storageKey(key), {
    range: range.kind === 'partial' ? { start: range.start, end: range.end } : null,
  })
  // A client that goes away ends the pipeline: the storage's stream is destroyed with it.
  await pipeline(opened.stream, response).catch((error: unknown) => {
    if (!response.destroyed) response.destroy(error as Error)
  })
}
