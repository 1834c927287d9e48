import { Readable } from 'node:stream'
import { createParamDecorator, type ExecutionContext } from '@nestjs/common'
import { ConfigurationError } from '@attrstore/core'
import { nodeRequest, type NestRequest } from './platform.js'

/**
 * The request body as a stream, never buffered: assign it to a stored attribute and it is
 * streamed to the storage as it arrives.
 *
 * - Express: Nest parses only JSON and URL-encoded bodies; any other type arrives untouched.
 * - Fastify parses JSON and `text/plain` itself and refuses (415) a media type it has no
 *   parser for: declare one that hands the body on unread, e.g.
 *   `fastify.addContentTypeParser('*', (_request, body, done) => done(null, body))`
 *   (and `fastify.removeContentTypeParser('text/plain')` to stream text too). The body it
 *   hands on (decompressed, if a plugin did so) is what this returns.
 *
 * @throws ConfigurationError when the platform already parsed the body (a parser for its
 *   media type is registered): the stream is gone.
 */
export function uploadStreamOf(request: NestRequest & { body?: unknown }): Readable {
  if (request.body instanceof Readable) return request.body
  const raw = nodeRequest(request)
  if (request.body !== undefined || raw.readableEnded)
    throw new ConfigurationError(
      `the body of this ${raw.headers['content-type'] ?? 'untyped'} request was parsed by the HTTP platform: ` +
        'register no body parser for the media types of uploads (see UploadStream)',
    )
  return raw
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
