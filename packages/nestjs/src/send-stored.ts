import type { AttributeStorage } from '@attrstore/core'
import {
  sendAttribute,
  sendObject,
  type AttributePath,
  type SendObjectOptions,
  type SendOutcome,
} from '@attrstore/http'
import { nodeRequest, takeNodeResponse, type NestRequest, type NestResponse } from './platform.js'

// Both run `@attrstore/http` on the platform's Node request and response: the handler
// takes the response with `@Res()` (Nest then sends nothing itself), a Fastify reply is
// hijacked. Neither rejects: failures answer 404, 503 or 500 themselves (`onError` logs).

/**
 * Serves a stored attribute of a loaded entity from a Nest controller, on Express and on
 * Fastify alike: `@attrstore/http`'s `sendAttribute` (ranges, 304/412, 416, a safe
 * `Content-Disposition`, `nosniff`, `HEAD`; media type and file name from the
 * attribute's `contentType` and `fileName` options). A null attribute answers 404.
 *
 * ```ts
 * @Get(':id') async get(@Param('id') id: string, @Req() req: Request, @Res() res: Response) {
 *   await sendStoredAttribute(req, res, await this.files.findOneByOrFail({ id }), 'data')
 * }
 * ```
 */
export function sendStoredAttribute<Entity extends object>(
  request: NestRequest,
  response: NestResponse,
  entity: Entity,
  attribute: AttributePath<Entity>,
  options?: SendObjectOptions,
): Promise<SendOutcome> {
  return sendAttribute(nodeRequest(request), takeNodeResponse(response), entity, attribute, options)
}

/** Serves an object of a storage by its key, as {@link sendStoredAttribute} does (`sendObject`). */
export function sendStoredObject(
  request: NestRequest,
  response: NestResponse,
  storage: AttributeStorage,
  key: string,
  options?: SendObjectOptions,
): Promise<SendOutcome> {
  return sendObject(nodeRequest(request), takeNodeResponse(response), storage, key, options)
}
