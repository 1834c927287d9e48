import type { IncomingMessage, ServerResponse } from 'node:http'
import type { Readable } from 'node:stream'
import busboy from 'busboy'
import {
  checkContent,
  KeyConflictError,
  ValidationError,
  type AttributeStorage,
} from '@attrstore/core'
import type { UploadUrlGrant, UploadUrlSigner } from './upload-url.js'

/** What the endpoint answered; the body is a short JSON `{ key }` or `{ error }`, never a stack trace. */
interface Answer {
  status: number
  body: Record<string, unknown>
}

function send(request: IncomingMessage, response: ServerResponse, answer: Answer): void {
  if (response.headersSent) {
    response.destroy()
    return
  }
  // A body refused unread is not drained: the connection closes after the answer.
  const unread = !request.readableEnded
  response.writeHead(answer.status, {
    'content-type': 'application/json',
    'cache-control': 'no-store',
    ...(unread ? { connection: 'close' } : {}),
  })
  response.end(JSON.stringify(answer.body), () => {
    if (unread) request.destroy()
  })
}

const refused = (status: number, error: string): Answer => ({ status, body: { error } })

/** What a multipart form may hold besides its file: boundaries, part headers, small fields. */
const FORM_OVERHEAD = 64 * 1024

/**
 * Takes one upload sent to a URL signed by {@link withUploadEndpoint}: `PUT` with the raw
 * body, or `POST` multipart/form-data with one file field. The body is streamed into
 * `storage.write` under the signed key; it is stopped as soon as it passes the signed
 * size limit (413), and its first bytes must be of the signed media type (415). A bad or
 * expired signature is 403, a key already used 409.
 */
export async function takeUpload(
  storage: AttributeStorage,
  signer: UploadUrlSigner,
  request: IncomingMessage,
  response: ServerResponse,
  now: number = Date.now(),
  idleTimeoutMs = 0,
): Promise<void> {
  const stopWatching = giveUpWhenIdle(request, idleTimeoutMs)
  let answer: Answer
  try {
    answer = await receive(storage, signer, request, now)
  } catch {
    answer = refused(500, 'the upload could not be stored')
  }
  stopWatching()
  send(request, response, answer)
}

/**
 * Destroys `request` when no byte of its body came for `idleTimeoutMs` (0: never): a body
 * that stops coming (a client gone without closing, slowloris) fails the write, which
 * keeps nothing, instead of holding it and its temporary file open for as long as the
 * server lets the request live (Fastify sets no limit by default). Returns what stops the
 * watch; it stops by itself once the body has come whole (a slow storage is no idle client).
 */
function giveUpWhenIdle(request: IncomingMessage, idleTimeoutMs: number): () => void {
  if (!(idleTimeoutMs > 0)) return () => {}
  const idle = (): void => {
    request.destroy(new Error(`no byte of the upload came for ${idleTimeoutMs} ms`))
  }
  let watching = true
  const stop = (): void => {
    if (!watching) return
    watching = false
    request.off('timeout', idle)
    request.off('end', stop)
    request.socket?.setTimeout(0)
  }
  request.setTimeout(idleTimeoutMs, idle)
  request.once('end', stop)
  return stop
}

async function receive(
  storage: AttributeStorage,
  signer: UploadUrlSigner,
  request: IncomingMessage,
  now: number,
): Promise<Answer> {
  const query = new URL(request.url ?? '/', 'http://upload.invalid').searchParams
  const read = signer.read(request.method ?? '', query, now)
  if ('refused' in read)
    return refused(403, read.refused === 'expired' ? 'the upload URL expired' : 'invalid signature')
  const { grant } = read
  const length = Number(request.headers['content-length'])
  if (
    Number.isFinite(length) &&
    length > grant.maxSize + (grant.method === 'POST' ? FORM_OVERHEAD : 0)
  )
    return refused(413, `the body is over ${grant.maxSize} bytes`)
  if (grant.method === 'PUT') {
    const declared = request.headers['content-type']
    if (grant.contentType !== undefined && declared !== grant.contentType)
      return refused(415, `the body must be sent as ${grant.contentType}`)
    return store(storage, grant, request, declared ?? grant.contentType)
  }
  if (!/^multipart\/form-data\b/i.test(request.headers['content-type'] ?? ''))
    return refused(415, 'a POST upload must be multipart/form-data')
  return receiveForm(storage, grant, request)
}

/** The first file part of a multipart form, streamed into the storage; other parts are skipped. */
function receiveForm(
  storage: AttributeStorage,
  grant: UploadUrlGrant,
  request: IncomingMessage,
): Promise<Answer> {
  return new Promise((resolve) => {
    let settled = false
    const finish = (answer: Answer): void => {
      if (settled) return
      settled = true
      request.off('data', count)
      request.unpipe(parser)
      resolve(answer)
    }
    // The same bound as the Content-Length check, for a form sent chunked: the parts the
    // parser skips (other files, fields past its limits) are no reason to read on forever.
    let received = 0
    const count = (chunk: Buffer): void => {
      received += chunk.length
      if (received <= grant.maxSize + FORM_OVERHEAD) return
      finish(refused(413, `the body is over ${grant.maxSize} bytes`))
      parser.destroy()
    }
    const parser = busboy({
      headers: request.headers,
      // One byte over the limit is enough to refuse the file.
      limits: { files: 1, fields: 50, fileSize: grant.maxSize + 1 },
    })
    let sawFile = false
    parser.on('file', (_field, file, info) => {
      sawFile = true
      if (grant.contentType !== undefined && info.mimeType !== grant.contentType) {
        file.resume()
        finish(refused(415, `the file must be sent as ${grant.contentType}`))
        return
      }
      store(storage, grant, file, info.mimeType).then(finish, () =>
        finish(refused(500, 'the upload could not be stored')),
      )
    })
    parser.on('error', () => finish(refused(400, 'malformed multipart body')))
    parser.on('close', () => {
      if (!sawFile) finish(refused(400, 'the form has no file'))
    })
    // pipe() forwards no end to a parser whose source is cut off (a client that leaves
    // mid-body): destroy it, which fails the file stream, so the write stops and keeps
    // nothing, instead of waiting for bytes that never come.
    request.once('close', () => {
      if (!request.readableEnded) parser.destroy(new Error('the request ended before its body'))
    })
    request.on('data', count)
    request.pipe(parser)
  })
}

async function store(
  storage: AttributeStorage,
  grant: UploadUrlGrant,
  source: Readable,
  contentType: string | undefined,
): Promise<Answer> {
  let failure: () => ValidationError | undefined = () => undefined
  try {
    const checked = await checkContent(
      source,
      {
        maxSize: grant.maxSize,
        ...(grant.contentType === undefined ? {} : { accept: grant.contentType }),
      },
      { entity: 'upload', attribute: grant.key, contentType },
    )
    failure = checked.failure
    const result = await storage.write(checked.body, {
      key: grant.key,
      ...(checked.contentType === undefined ? {} : { contentType: checked.contentType }),
    })
    return { status: 201, body: { key: result.key, size: result.size, sha256: result.sha256 } }
  } catch (error) {
    const validation = error instanceof ValidationError ? error : failure()
    if (validation?.rule === 'maxSize')
      return refused(413, `the body is over ${grant.maxSize} bytes`)
    if (validation) return refused(415, 'the body is not of the media type the upload was made for')
    if (error instanceof KeyConflictError) return refused(409, 'this upload was already sent')
    throw error
  }
}
