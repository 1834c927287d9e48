// The HTTP side of StagedMemoryStorage, for tests only: serves signed download URLs and
// takes direct uploads on 127.0.0.1, checking the HMAC token and expiry of each.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { KeyConflictError } from '@attrstore/core'
import { downloadFields, uploadFields, type StagedMemoryBackend } from './staged-memory-storage.js'

export interface SigningServer {
  url: string
  close(): Promise<void>
}

function answer(response: ServerResponse, status: number, text = ''): void {
  response.writeHead(status, { 'content-type': 'text/plain', connection: 'close' }).end(text)
}

function serveDownload(
  backend: StagedMemoryBackend,
  key: string,
  query: URLSearchParams,
  response: ServerResponse,
): void {
  const expires = Number(query.get('expires'))
  const disposition = query.get('disposition') as 'inline' | 'attachment' | null
  const fileName = query.get('filename')
  const contentType = query.get('type')
  const fields = downloadFields(key, expires, {
    ...(disposition ? { disposition } : {}),
    ...(fileName ? { fileName } : {}),
    ...(contentType ? { contentType } : {}),
  })
  if (!backend.verify(fields, query.get('token') ?? '')) return answer(response, 403, 'bad token')
  if (!(Date.now() < expires)) return answer(response, 403, 'expired')
  const object = backend.objects.get(key)
  if (!object) return answer(response, 404, 'no such object')
  response.writeHead(200, {
    'content-type': contentType ?? object.contentType ?? 'application/octet-stream',
    'content-length': object.data.length,
    ...(disposition
      ? {
          'content-disposition': fileName
            ? `${disposition}; filename*=UTF-8''${encodeURIComponent(fileName)}`
            : disposition,
        }
      : {}),
  })
  response.end(object.data)
}

async function takeUpload(
  backend: StagedMemoryBackend,
  key: string,
  query: URLSearchParams,
  request: IncomingMessage,
  response: ServerResponse,
): Promise<void> {
  const expires = Number(query.get('expires'))
  const maxSize = Number(query.get('max'))
  const contentType = query.get('type') ?? undefined
  const fields = uploadFields(key, expires, maxSize, contentType)
  if (!backend.verify(fields, query.get('token') ?? '')) return answer(response, 403, 'bad token')
  if (!(Date.now() < expires)) return answer(response, 403, 'expired')
  if (contentType && request.headers['content-type'] !== contentType)
    return answer(response, 400, 'wrong content type')
  if (Number(request.headers['content-length'] ?? 0) > maxSize)
    return answer(response, 413, 'too large')
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length
    if (size > maxSize) return answer(response, 413, 'too large')
    chunks.push(chunk)
  }
  try {
    backend.commit(key, Buffer.concat(chunks), contentType)
  } catch (error) {
    if (error instanceof KeyConflictError) return answer(response, 409, 'key taken')
    throw error
  }
  answer(response, 201)
}

/** Serves `backend` on 127.0.0.1 (a free port) and sets its `baseUrl`. */
export async function startSigningServer(backend: StagedMemoryBackend): Promise<SigningServer> {
  const server = createServer((request, response) => {
    const url = new URL(request.url ?? '/', 'http://127.0.0.1')
    const [, area, encodedKey, ...rest] = url.pathname.split('/')
    if (encodedKey === undefined || rest.length) return answer(response, 404)
    const key = decodeURIComponent(encodedKey)
    if (area === 'objects' && request.method === 'GET')
      return serveDownload(backend, key, url.searchParams, response)
    if (area === 'uploads' && request.method === 'PUT') {
      takeUpload(backend, key, url.searchParams, request, response).catch(() =>
        answer(response, 500),
      )
      return
    }
    answer(response, 404)
  })
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(0, '127.0.0.1', resolve)
  })
  const { port } = server.address() as AddressInfo
  const url = `http://127.0.0.1:${port}`
  backend.baseUrl = url
  return {
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        server.closeAllConnections()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}
