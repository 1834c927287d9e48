import type { IncomingMessage, ServerResponse } from 'node:http'

/** Which web origins may read through the gateway (S3's CORS configuration, for GET and HEAD). */
export interface GatewayCors {
  /** Allowed origins (`https://neuroglancer-demo.appspot.com`), or `'*'` for any. */
  origins: readonly string[] | '*'
  /** Seconds a browser may cache a preflight answer. Default 3000, as S3's examples. */
  maxAgeSeconds?: number
}

/**
 * What a page may read of a response: what range readers (Neuroglancer, N5 Viewer) need
 * to check what they got, and the request id for bug reports.
 */
const EXPOSED = [
  'ETag',
  'Content-Range',
  'Content-Length',
  'Content-Encoding',
  'Accept-Ranges',
  'Last-Modified',
  'x-amz-request-id',
  'x-amz-meta-sha256',
].join(', ')
const METHODS = 'GET, HEAD'

/** The CORS policy of a gateway: response headers for allowed origins, and preflights. */
export class CorsPolicy {
  constructor(private readonly cors: GatewayCors | undefined) {}

  private allowed(origin: string | undefined): origin is string {
    if (!this.cors || origin === undefined) return false
    return this.cors.origins === '*' || this.cors.origins.includes(origin)
  }

  /** Adds the CORS response headers for the request's origin, when it is allowed. */
  decorate(request: IncomingMessage, response: ServerResponse): void {
    response.setHeader('Vary', 'Origin')
    const origin = request.headers.origin
    if (!this.allowed(origin)) return
    response.setHeader('Access-Control-Allow-Origin', this.cors!.origins === '*' ? '*' : origin)
    response.setHeader('Access-Control-Expose-Headers', EXPOSED)
  }

  /**
   * Answers a preflight (`OPTIONS` with `Access-Control-Request-Method`), unauthenticated as
   * in S3: 200 with what is allowed, or false when the origin or method is not (the caller
   * answers 403 as S3 does).
   */
  preflight(request: IncomingMessage, response: ServerResponse): boolean {
    const origin = request.headers.origin
    const method = request.headers['access-control-request-method']
    if (!this.allowed(origin) || (method !== 'GET' && method !== 'HEAD')) return false
    this.decorate(request, response)
    response.setHeader('Access-Control-Allow-Methods', METHODS)
    const asked = request.headers['access-control-request-headers']
    // Any request header may be sent (Range, Authorization, x-amz-*, If-*): what a reader
    // needs differs, and none of them can write anything here.
    if (asked) response.setHeader('Access-Control-Allow-Headers', asked)
    response.setHeader('Access-Control-Max-Age', String(this.cors!.maxAgeSeconds ?? 3000))
    response.statusCode = 200
    response.setHeader('Content-Length', '0')
    response.end()
    return true
  }
}
