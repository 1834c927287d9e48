import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import type { AttributeStorage, ObjectStat } from '@attrstore/core'
import { entityTagOf } from './entity-tag.js'
import {
  answerFailure,
  sendPlainStatus,
  tellFailure,
  type FailureHook,
} from './failure-response.js'
import { evaluatePreconditions, rangeStillValid, type Validators } from './preconditions.js'
import { contentRange, readRangeRequest, unsatisfiedContentRange } from './range.js'
import { presentationOf, type Disposition } from './safe-disposition.js'

/** Options of {@link sendObject}. */
export interface SendObjectOptions {
  /** The name a browser saves the file under (`Content-Disposition`); path segments and control characters are dropped. */
  fileName?: string | undefined
  /**
   * The `Content-Type`, whatever the storage recorded. Default: the recorded type, else the
   * one registered for `fileName`'s extension (never an active type), else
   * `application/octet-stream` (sent as an attachment).
   */
  contentType?: string | undefined
  /**
   * `inline` (default) shows the content in the browser, `attachment` saves it. Active
   * content (HTML, SVG, XML, JavaScript) and content of unknown type are always
   * attachments unless `allowActiveContentInline` is set.
   */
  disposition?: Disposition | undefined
  /**
   * Serve active content inline when `disposition` is `inline`: only for content the
   * application vouches for, never for what users upload (an inline HTML or SVG file runs
   * its scripts in the application's origin: stored XSS). Even then the response carries
   * `Content-Security-Policy: default-src 'none'; style-src 'unsafe-inline'; sandbox`.
   * Default false.
   */
  allowActiveContentInline?: boolean | undefined
  /** The `Cache-Control` of the response (and of its 304s). Default: none. */
  cacheControl?: string | undefined
  /**
   * Told of every failure: a missing object (404), a storage that is down (503), anything
   * else (500), a read that failed after the headers went out (the response is cut). The
   * client only ever gets a status and a reason phrase; log the error here. A client that
   * goes away is no failure (see {@link SendOutcome.clientAborted}). Exceptions it throws
   * are ignored.
   */
  onError?: FailureHook | undefined
}

/** How {@link sendObject} answered. */
export interface SendOutcome {
  status: number
  /** The failure reported to `onError`, if any. */
  error?: unknown
  /** The client went away before the whole body was sent: the storage read was stopped. */
  clientAborted?: boolean
}

/**
 * Serves the object under `key` of `storage` on a Node response (Node's `http`, Express's
 * `res`, Fastify's `reply.raw` after `reply.hijack()`), as RFC 9110 asks of a static file:
 *
 * - `GET` and `HEAD` (anything else: 405 with `Allow`);
 * - one byte `Range` (206 with `Content-Range`; 416 with `Content-Range: bytes *\/size`
 *   when nothing of it lies in the object), honoured only while `If-Range` still names the
 *   object; a `HEAD` ignores `Range`;
 * - `If-Match` / `If-Unmodified-Since` (412), `If-None-Match` / `If-Modified-Since` (304),
 *   against a strong `ETag` made of the SHA-256 the storage recorded (none when it recorded
 *   none: a storage's own ETag is no content hash) and `Last-Modified`;
 * - `Content-Length` and `Accept-Ranges: bytes` always, `X-Content-Type-Options: nosniff`,
 *   and a `Content-Disposition` that is safe by default (see {@link SendObjectOptions}).
 *
 * The body streams from `storage.readStream` (bounded memory); a client that goes away
 * stops the storage read. Failures answer 404 (missing object, invalid key), 503 (storage
 * unavailable) or 500 with a plain body, and are told to `onError`. The promise never
 * rejects.
 */
export async function sendObject(
  request: IncomingMessage,
  response: ServerResponse,
  storage: AttributeStorage,
  key: string,
  options: SendObjectOptions = {},
): Promise<SendOutcome> {
  try {
    return await answer(request, response, storage, key, options)
  } catch (error) {
    // A bug, or a storage that throws where it should reject: still an answer, never a hang.
    if (response.headersSent) {
      response.destroy()
      tellFailure(options.onError, error, { key, status: response.statusCode, afterHeaders: true })
      return { status: response.statusCode, error }
    }
    sendPlainStatus(response, 500)
    tellFailure(options.onError, error, { key, status: 500, afterHeaders: false })
    return { status: 500, error }
  }
}

async function answer(
  request: IncomingMessage,
  response: ServerResponse,
  storage: AttributeStorage,
  key: string,
  options: SendObjectOptions,
): Promise<SendOutcome> {
  const method = request.method ?? 'GET'
  if (method !== 'GET' && method !== 'HEAD') {
    sendPlainStatus(response, 405, { allow: 'GET, HEAD' })
    return { status: 405 }
  }

  let stat: ObjectStat
  try {
    stat = await storage.stat(key)
  } catch (error) {
    return { status: answerFailure(response, error, key, options.onError), error }
  }

  const validators: Validators = {
    etag: stat.sha256 === undefined ? undefined : entityTagOf(stat.sha256),
    lastModified: stat.lastModified,
  }
  const cacheHeaders: OutgoingHttpHeaders = {
    ...(validators.etag === undefined ? {} : { etag: validators.etag }),
    ...(stat.lastModified === undefined
      ? {}
      : { 'last-modified': stat.lastModified.toUTCString() }),
    ...(options.cacheControl === undefined ? {} : { 'cache-control': options.cacheControl }),
  }

  const precondition = evaluatePreconditions(method, request.headers, validators)
  if (precondition === 'not-modified') {
    response.writeHead(304, cacheHeaders).end()
    return { status: 304 }
  }
  if (precondition === 'precondition-failed') {
    sendPlainStatus(response, 412)
    return { status: 412 }
  }

  // RFC 9110 §14.2: range handling is defined for GET only. Node joins no If-Range: one
  // sent twice is no validator.
  const ifRange = request.headers['if-range']
  const range =
    method === 'GET' &&
    (ifRange === undefined || typeof ifRange === 'string') &&
    rangeStillValid(ifRange, validators)
      ? readRangeRequest(request.headers.range, stat.size)
      : ({ kind: 'whole' } as const)
  if (range.kind === 'unsatisfiable') {
    sendPlainStatus(response, 416, {
      'content-range': unsatisfiedContentRange(stat.size),
      'accept-ranges': 'bytes',
    })
    return { status: 416 }
  }

  const presentation = presentationOf({
    contentType: options.contentType,
    recordedContentType: stat.contentType,
    disposition: options.disposition,
    fileName: options.fileName,
    allowActiveContentInline: options.allowActiveContentInline,
  })
  const status = range.kind === 'partial' ? 206 : 200
  const headers: OutgoingHttpHeaders = {
    'content-type': presentation.contentType,
    'content-length': String(range.kind === 'partial' ? range.end - range.start + 1 : stat.size),
    ...(range.kind === 'partial'
      ? { 'content-range': contentRange(range.start, range.end, stat.size) }
      : {}),
    'accept-ranges': 'bytes',
    ...cacheHeaders,
    'content-disposition': presentation.contentDisposition,
    'x-content-type-options': 'nosniff',
    ...(presentation.contentSecurityPolicy === undefined
      ? {}
      : { 'content-security-policy': presentation.contentSecurityPolicy }),
  }
  if (method === 'HEAD') {
    response.writeHead(status, headers).end()
    return { status }
  }

  // A client that leaves while the storage is still opening the object cancels the request.
  const reading = new AbortController()
  let clientLeft = false
  let readFailed = false
  const onClose = () => {
    // A response closed unfinished by its own read's failure is no client leaving.
    if (!response.writableFinished && !readFailed) clientLeft = true
    reading.abort()
  }
  response.once('close', onClose)

  let body: Readable
  try {
    body = await storage.readStream(key, {
      signal: reading.signal,
      ...(range.kind === 'partial' ? { range: { start: range.start, end: range.end } } : {}),
    })
  } catch (error) {
    if (clientLeft) return { status, clientAborted: true }
    response.off('close', onClose)
    // The object went away between stat and read (a deletion), or the storage failed.
    return { status: answerFailure(response, error, key, options.onError), error }
  }
  if (clientLeft || response.destroyed) {
    body.destroy()
    return { status, clientAborted: true }
  }

  body.once('error', () => {
    if (!clientLeft) readFailed = true
  })
  response.writeHead(status, headers)
  try {
    // Ends the response with the body, or destroys both streams when either fails: a
    // client that leaves ends the storage read, a read that fails cuts the response (its
    // Content-Length then tells the client the body is incomplete).
    await pipeline(body, response)
    return { status }
  } catch (error) {
    if (clientLeft) return { status, clientAborted: true }
    tellFailure(options.onError, error, { key, status, afterHeaders: true })
    return { status, error }
  } finally {
    response.off('close', onClose)
  }
}
