import type { IncomingMessage, ServerResponse } from 'node:http'

/**
 * The request a Nest controller gets with `@Req()`: Express's (a Node `IncomingMessage`)
 * or Fastify's (which wraps one as `raw`).
 */
export type NestRequest = IncomingMessage | { raw: IncomingMessage }

/**
 * The response a Nest controller gets with `@Res()`: Express's (a Node `ServerResponse`)
 * or Fastify's reply (which wraps one as `raw`, written to after `hijack()`).
 */
export type NestResponse = ServerResponse | { raw: ServerResponse; hijack(): unknown }

/** The Node request under either platform's. */
export function nodeRequest(request: NestRequest): IncomingMessage {
  return 'raw' in request ? request.raw : request
}

/**
 * The Node response to write to under either platform's. A Fastify reply is hijacked
 * first: Fastify then leaves the response alone (it would otherwise answer too, or warn
 * that it cannot).
 */
export function takeNodeResponse(response: NestResponse): ServerResponse {
  if (!('raw' in response)) return response
  response.hijack()
  return response.raw
}
