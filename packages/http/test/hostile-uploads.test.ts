/**
 * The upload endpoint of `withUploadEndpoint` against a hostile client, over real sockets:
 * bodies that are cut off, that lie about their length, that never end, concurrent uploads
 * to one URL. Nothing partial may be stored, no temporary file left, no handler left hanging.
 */
import { mkdtemp, readdir, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { startHttpServer, type LoopbackServer } from '@attrstore/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { withUploadEndpoint, type UploadEndpointStorage } from '../src/index.js'

const SECRET = 'a secret of more than thirty-two bytes, for tests'

let root: string
let served: LoopbackServer
let storages: Record<'PUT' | 'POST', UploadEndpointStorage>
/** Every handleUpload call: settled or not. */
const handling: { settled: boolean }[] = []

beforeAll(async () => {
  root = await mkdtemp(path.join(tmpdir(), 'attrstore-hostile-uploads-'))
  served = await startHttpServer((request, response) => {
    const storage = request.url?.startsWith('/post') ? storages.POST : storages.PUT
    const call = { settled: false }
    handling.push(call)
    void storage.handleUpload(request, response).finally(() => (call.settled = true))
  })
  const files = new BytesFileSystemStorage({ root })
  storages = {
    PUT: withUploadEndpoint(files, { baseUrl: `${served.url}/put`, secret: SECRET }),
    POST: withUploadEndpoint(files, {
      baseUrl: `${served.url}/post`,
      secret: SECRET,
      method: 'POST',
    }),
  }
})

afterAll(async () => {
  await served?.close()
  if (root) await rm(root, { recursive: true, force: true })
})

async function storedKeys(): Promise<string[]> {
  const keys: string[] = []
  for await (const entry of storages.PUT.list()) keys.push(entry.key)
  return keys
}

async function temporaryFiles(): Promise<string[]> {
  return readdir(path.join(root, '.attrstore', 'tmp')).catch(() => [])
}

/** Sends `head` then `body` on a raw socket, then closes it without finishing the body. */
async function sendAndHangUp(head: string, body: Buffer): Promise<void> {
  const url = new URL(served.url)
  const socket = connect(Number(url.port), url.hostname)
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve)
    socket.once('error', reject)
  })
  socket.write(head)
  socket.write(body)
  await new Promise((resolve) => setTimeout(resolve, 150))
  socket.destroy()
}

async function settledHandlers(timeoutMs = 3000): Promise<boolean> {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (handling.every((call) => call.settled)) return true
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
  return false
}

function requestHead(url: URL, headers: Record<string, string>, method: string): string {
  const lines = [`${method} ${url.pathname}${url.search} HTTP/1.1`, `host: ${url.host}`]
  for (const [name, value] of Object.entries(headers)) lines.push(`${name}: ${value}`)
  return `${lines.join('\r\n')}\r\n\r\n`
}

describe('uploads cut off mid-body', () => {
  it('PUT: the handler settles, nothing is stored, no temporary file is left', async () => {
    const upload = await storages.PUT.createDirectUpload({ maxSize: 1 << 20, expiresIn: 60 })
    const url = new URL(upload.url)
    await sendAndHangUp(
      requestHead(url, { 'content-length': String(1 << 20) }, 'PUT'),
      Buffer.alloc(64 * 1024, 1),
    )
    expect(await settledHandlers(), 'a handler never settled').toBe(true)
    expect(await storedKeys()).not.toContain(upload.key)
    expect(await temporaryFiles()).toEqual([])
  })

  it('POST multipart: the handler settles, nothing is stored, no temporary file is left', async () => {
    const upload = await storages.POST.createDirectUpload({ maxSize: 1 << 20, expiresIn: 60 })
    const url = new URL(upload.url)
    const boundary = 'xxBOUNDARYxx'
    const partHead =
      `--${boundary}\r\ncontent-disposition: form-data; name="file"; filename="a.bin"\r\n` +
      'content-type: application/octet-stream\r\n\r\n'
    await sendAndHangUp(
      requestHead(
        url,
        {
          'content-type': `multipart/form-data; boundary=${boundary}`,
          'transfer-encoding': 'chunked',
        },
        'POST',
      ),
      Buffer.concat([
        Buffer.from(`${(partHead.length + 65536).toString(16)}\r\n${partHead}`),
        Buffer.alloc(65536, 1),
        Buffer.from('\r\n'),
      ]),
    )
    expect(await settledHandlers(), 'a handler never settled').toBe(true)
    expect(await storedKeys()).not.toContain(upload.key)
    expect(await temporaryFiles()).toEqual([])
  })
})

/** Sends `body` to an upload URL with fetch; a stream body is sent chunked. */
async function put(
  url: string,
  body: Buffer | ReadableStream<Uint8Array>,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'PUT',
    body,
    headers,
    ...(body instanceof Buffer ? {} : { duplex: 'half' }),
  } as RequestInit)
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

function chunked(total: number, chunk = 16 * 1024): ReadableStream<Uint8Array> {
  let sent = 0
  return new ReadableStream({
    pull(controller) {
      if (sent >= total) return controller.close()
      const size = Math.min(chunk, total - sent)
      sent += size
      controller.enqueue(new Uint8Array(size).fill(7))
    },
  })
}

describe('uploads that break the limits or the write-once rule', () => {
  it('PUT chunked (no Content-Length) over maxSize: 413, nothing stored, no temporary file', async () => {
    const upload = await storages.PUT.createDirectUpload({ maxSize: 10_000, expiresIn: 60 })
    const sent = await put(upload.url, chunked(200_000))
    expect(sent.status).toBe(413)
    expect(await storedKeys()).not.toContain(upload.key)
    expect(await temporaryFiles()).toEqual([])
  })

  it('a second send to a used URL: 409, the first upload untouched', async () => {
    const upload = await storages.PUT.createDirectUpload({ maxSize: 100, expiresIn: 60 })
    expect((await put(upload.url, Buffer.from('first'))).status).toBe(201)
    expect(await put(upload.url, Buffer.from('second'))).toMatchObject({ status: 409 })
    expect((await storages.PUT.read(upload.key)).toString()).toBe('first')
  })

  it('concurrent sends to one URL: one wins (201), the others 409, its bytes and SHA-256 intact', async () => {
    const upload = await storages.PUT.createDirectUpload({ maxSize: 1 << 20, expiresIn: 60 })
    const bodies = [1, 2, 3, 4].map((n) => Buffer.alloc(200_000, n))
    const sent = await Promise.all(bodies.map((body) => put(upload.url, body)))
    const statuses = sent.map((answer) => answer.status).sort()
    expect(statuses).toEqual([201, 409, 409, 409])
    const winner = bodies[sent.findIndex((answer) => answer.status === 201)]!
    const stored = await storages.PUT.read(upload.key)
    expect(stored.equals(winner)).toBe(true)
    expect((await storages.PUT.verify(upload.key)).verified).toBe(true)
    expect(sent.find((answer) => answer.status === 201)!.body.sha256).toBe(
      (await storages.PUT.stat(upload.key)).sha256,
    )
    expect(await temporaryFiles()).toEqual([])
  })
})

/** A multipart/form-data body of `parts`, sent with fetch (chunked when `stream`). */
async function postForm(
  url: string,
  parts: { name: string; fileName?: string; type?: string; content: Buffer }[],
  stream = false,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const boundary = 'hostileBoundary42'
  const chunks: Buffer[] = []
  for (const part of parts) {
    const disposition =
      `form-data; name="${part.name}"` +
      (part.fileName === undefined ? '' : `; filename="${part.fileName}"`)
    chunks.push(
      Buffer.from(
        `--${boundary}\r\ncontent-disposition: ${disposition}\r\n` +
          (part.type === undefined ? '' : `content-type: ${part.type}\r\n`) +
          '\r\n',
      ),
      part.content,
      Buffer.from('\r\n'),
    )
  }
  chunks.push(Buffer.from(`--${boundary}--\r\n`))
  const body = Buffer.concat(chunks)
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
    body: stream
      ? new ReadableStream({
          start(controller) {
            for (let at = 0; at < body.length; at += 64 * 1024)
              controller.enqueue(body.subarray(at, at + 64 * 1024))
            controller.close()
          },
        })
      : body,
    ...(stream ? { duplex: 'half' } : {}),
  } as RequestInit)
  return { status: response.status, body: (await response.json()) as Record<string, unknown> }
}

describe('multipart forms a client crafts', () => {
  it('fields before and after the file, two files: the first file is stored, nothing else', async () => {
    const upload = await storages.POST.createDirectUpload({ maxSize: 100, expiresIn: 60 })
    const before = await storedKeys()
    const sent = await postForm(upload.url, [
      { name: 'x'.repeat(5000), content: Buffer.from('a field with a huge name') },
      { name: 'file', fileName: '../../etc/passwd', content: Buffer.from('the first file') },
      { name: 'again', fileName: 'b.txt', content: Buffer.from('a second file') },
      { name: 'after', content: Buffer.from('a field after the files') },
    ])
    expect(sent).toMatchObject({ status: 201, body: { key: upload.key } })
    expect((await storages.POST.read(upload.key)).toString()).toBe('the first file')
    expect((await storedKeys()).length).toBe(before.length + 1)
  })

  it('the same form is refused whether or not it declares its length: 413 past maxSize plus the form overhead', async () => {
    // The Content-Length check refuses a form over maxSize + 64 KiB; a chunked form of
    // the same bytes (fields the parser skips) must not get further.
    const padding = { name: 'pad', content: Buffer.alloc(200 * 1024, 'p') }
    const file = { name: 'file', fileName: 'a.bin', content: Buffer.from('small') }
    for (const stream of [false, true]) {
      const upload = await storages.POST.createDirectUpload({ maxSize: 100, expiresIn: 60 })
      const sent = await postForm(upload.url, [padding, file], stream)
      expect(sent.status, stream ? 'chunked' : 'with Content-Length').toBe(413)
      expect(await storedKeys()).not.toContain(upload.key)
    }
  })

  it('a file over maxSize, chunked: 413, nothing stored, no temporary file', async () => {
    const upload = await storages.POST.createDirectUpload({ maxSize: 1000, expiresIn: 60 })
    const sent = await postForm(
      upload.url,
      [{ name: 'file', fileName: 'big.bin', content: Buffer.alloc(500_000, 1) }],
      true,
    )
    expect(sent.status).toBe(413)
    expect(await storedKeys()).not.toContain(upload.key)
    expect(await temporaryFiles()).toEqual([])
  })
})

describe('a body that stops coming (slowloris)', () => {
  it('the upload is given up after idleTimeoutMs without a byte: handler settled, nothing kept', async () => {
    // A server that sets no request timeout of its own (Fastify's default): the endpoint's
    // idle timeout is all that ends the upload.
    const slow = await startHttpServer((request, response) => {
      const call = { settled: false }
      handling.push(call)
      void storage.handleUpload(request, response).finally(() => (call.settled = true))
    })
    slow.server.requestTimeout = 0
    const storage = withUploadEndpoint(new BytesFileSystemStorage({ root }), {
      baseUrl: `${slow.url}/put`,
      secret: SECRET,
      idleTimeoutMs: 300,
    })
    try {
      const upload = await storage.createDirectUpload({ maxSize: 1 << 20, expiresIn: 60 })
      const url = new URL(upload.url)
      const socket = connect(Number(url.port), url.hostname)
      await new Promise<void>((resolve, reject) => {
        socket.once('connect', resolve)
        socket.once('error', reject)
      })
      const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()))
      socket.on('data', () => {})
      socket.write(requestHead(url, { 'content-length': '100000' }, 'PUT'))
      socket.write(Buffer.alloc(1000, 3)) // then nothing, the socket left open
      const ended = await Promise.race([
        closed.then(() => true),
        new Promise<boolean>((resolve) => setTimeout(() => resolve(false), 5000)),
      ])
      socket.destroy()
      expect(ended, 'the server still waits for the body').toBe(true)
      expect(await settledHandlers(), 'a handler never settled').toBe(true)
      expect(await storedKeys()).not.toContain(upload.key)
      expect(await temporaryFiles()).toEqual([])
    } finally {
      await slow.close()
    }
  })
})

describe('upload URLs a client rewrites', () => {
  it('a parameter repeated or spelled otherwise (1e3 for 1000): 403, nothing stored', async () => {
    const upload = await storages.PUT.createDirectUpload({ maxSize: 1000, expiresIn: 60 })
    const signed = new URL(upload.url)
    const expires = signed.searchParams.get('expires')!
    const variants: Array<(url: URL) => void> = [
      (url) => url.searchParams.append('key', 'uploads/another'),
      (url) => url.searchParams.append('sig', url.searchParams.get('sig')!),
      (url) => url.searchParams.set('max', '1e3'),
      (url) => url.searchParams.set('max', '1000.0'),
      (url) => url.searchParams.set('max', ' 1000'),
      (url) => url.searchParams.set('max', '0x3e8'),
      (url) => url.searchParams.set('expires', `${expires}.0`),
      (url) => url.searchParams.set('expires', `+${expires}`),
    ]
    for (const rewrite of variants) {
      const url = new URL(signed)
      rewrite(url)
      const sent = await put(url.href, Buffer.from('x'))
      expect(sent.status, url.search).toBe(403)
    }
    expect(await storedKeys()).not.toContain(upload.key)
    expect((await put(signed.href, Buffer.from('x'))).status).toBe(201) // the URL as signed
  })
})
