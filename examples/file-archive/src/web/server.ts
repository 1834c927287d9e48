/**
 * The archive's web page and its few routes, on Node's own `http` (no framework: what
 * matters here is `sendAttribute`):
 *
 * | route | what |
 * | --- | --- |
 * | `GET /` | the page ({@link ARCHIVE_PAGE}) |
 * | `GET /api/files` | the rows, as JSON |
 * | `PUT /files/<name>` | an upload: the body streams into the storage |
 * | `GET`/`HEAD /files/<id>` | the content, by `@attrstore/http`'s `sendAttribute`: ranges (video seeking), 304s, inline where that is safe (video, PDF, images), an attachment otherwise (SVG, HTML: they would run scripts in this origin); `?download` asks for an attachment |
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { isAttrstoreError } from '@attrstore/core'
import { sendAttribute } from '@attrstore/http'
import type { Archive } from '../archive.js'
import { listFiles } from '../commands/list.js'
import { UserError } from '../errors.js'
import { ARCHIVE_PAGE } from './page.js'
import { uploadFile } from './upload.js'

export interface ServerOptions {
  /** Told of every answered request: an access log. */
  log?: (line: string) => void
}

function sendJson(response: ServerResponse, status: number, value: unknown): void {
  const body = JSON.stringify(value)
  response.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(body),
    'cache-control': 'no-store',
  })
  response.end(body)
}

async function route(
  archive: Archive,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://archive')
  const method = request.method ?? 'GET'
  if (url.pathname === '/' && (method === 'GET' || method === 'HEAD')) {
    response.writeHead(200, {
      'content-type': 'text/html; charset=utf-8',
      'content-length': Buffer.byteLength(ARCHIVE_PAGE),
      'content-security-policy':
        "default-src 'self'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; media-src 'self' blob:",
    })
    response.end(method === 'HEAD' ? undefined : ARCHIVE_PAGE)
    return
  }
  if (url.pathname === '/api/files' && method === 'GET') {
    sendJson(response, 200, await listFiles(archive))
    return
  }
  const file = /^\/files\/(.+)$/.exec(url.pathname)
  if (file && method === 'PUT') {
    const length = request.headers['content-length']
    const saved = await uploadFile(archive, {
      name: decodeURIComponent(file[1]!),
      mediaType: request.headers['content-type'],
      body: request,
      declaredSize: length === undefined ? undefined : Number(length),
    })
    sendJson(response, 201, { id: saved.id, name: saved.name, size: saved.size })
    return
  }
  if (file && /^\d+$/.test(file[1]!)) {
    const found = await archive.files.findOneBy({ id: Number(file[1]) })
    if (!found) return sendJson(response, 404, { error: 'no such file' })
    // `data` is lazy: nothing is downloaded until sendAttribute streams it. Its media type
    // and name come from the attribute's `contentType` and `fileName` options.
    await sendAttribute(request, response, found, 'data', {
      disposition: url.searchParams.has('download') ? 'attachment' : 'inline',
    })
    return
  }
  sendJson(response, 404, { error: 'not found' })
}

/** The archive's HTTP server (not listening yet). */
export function createArchiveServer(archive: Archive, options: ServerOptions = {}): Server {
  return createServer((request, response) => {
    response.once('finish', () => {
      const range = request.headers.range ? ` range=${request.headers.range}` : ''
      options.log?.(`${request.method} ${request.url} ${response.statusCode}${range}`)
    })
    route(archive, request, response).catch((error: unknown) => {
      // A refusal of the upload (name taken, body cut short or too large): the client's fault.
      const status =
        error instanceof UserError || isAttrstoreError(error, 'ATTRSTORE_INTEGRITY') ? 400 : 500
      if (status === 500) options.log?.(`error: ${(error as Error).message}`)
      if (response.headersSent) response.destroy()
      else sendJson(response, status, { error: (error as Error).message })
      // An upload refused before its body was read: the connection cannot be reused.
      if (!request.complete) request.resume()
    })
  })
}
