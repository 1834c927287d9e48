import type { AttributeStorage } from '@attrstore/core'
import { sendObject, type SendObjectOptions, type SendOutcome } from '@attrstore/http'
import { nodeRequest, takeNodeResponse, type NestRequest, type NestResponse } from './platform.js'

/**
 * Serves a storage's object from a Nest controller, on Express and on Fastify alike:
 * `@attrstore/http`'s `sendObject` (ranges, 304/412, 416, safe `Content-Disposition`,
 * `nosniff`, `HEAD`) on the platform's Node request and response. The handler takes the
 * response with `@Res()` (Nest then sends nothing itself); a Fastify reply is hijacked.
 *
 * ```ts
 * @Get(':key') get(@Param('key') key: string, @Req() req: Request, @Res() res: Response) {
 *   return sendStoredObject(req, res, storage, key)
 * }
 * ```
 *
 * Never rejects: failures answer 404, 503 or 500 themselves (see `onError` to log them).
 */
export function sendStoredObject(
  request: NestRequest,
  response: NestResponse,
  storage: AttributeStorage,
  key: string,
  options?: SendObjectOptions,
): Promise<SendOutcome> {
  return sendObject(nodeRequest(request), takeNodeResponse(response), storage, key, options)
}
