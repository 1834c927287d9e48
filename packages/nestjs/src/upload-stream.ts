import { Readable } from 'node:stream'
import { createParamDecorator, type ExecutionContext } from '@nestjs/common'
import { nodeRequest, type NestRequest } from './platform.js'

/**
 * The request body as a stream, never buffered: assign it to a stored attribute and it is
 * streamed to the storage as it arrives.
 *
 * - Express: Nest parses only JSON and URL-encoded bodies; any other type arrives untouched.
 * - Fastify refuses a media type it has no parser for (415): declare one that hands the
 *   body on unread, e.g.
 *   `app.getHttpAdapter().getInstance().addContentTypeParser('*', (_request, body, done) => done(null, body))`.
 *   The body it hands on (decompressed, if a plugin did so) is what this returns.
 */
export function uploadStreamOf(request: NestRequest & { body?: unknown }): Readable {
  if (request.body instanceof Readable) return request.body
  return nodeRequest(request)
}

/**
 * A controller parameter holding the request body as a stream ({@link uploadStreamOf}).
 *
 * ```ts
 * @Put(':name') upload(@Param('name') name: string, @UploadStream() body: Readable) {...}
 * ```
 */
export const UploadStream: () => ParameterDecorator = createParamDecorator(
  (_data: unknown, context: ExecutionContext) =>
    uploadStreamOf(context.switchToHttp().getRequest<NestRequest & { body?: unknown }>()),
)
