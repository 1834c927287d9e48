import { Readable } from 'node:stream'
import { parse as parseContentDisposition } from 'content-disposition'
import {
  ConfigurationError,
  MemoryStorage,
  ObjectNotFoundError,
  StorageUnavailableError,
  type AttributeStorage,
  type ObjectStat,
  type ReadOptions,
} from '@attrstore/core'
import { sha256Hex } from '@attrstore/core/driver'
import { InstrumentedStorage, startHttpServer } from '@attrstore/testing'
import { afterAll, beforeEach, describe, expect, it } from 'vitest'
import {
  ACTIVE_CONTENT_POLICY,
  sendObject,
  type SendFailure,
  type SendObjectOptions,
  type SendOutcome,
} from '../src/index.js'

const CONTENT = Buffer.from('0123456789abcdefghij') // 20 bytes
const ETAG = `"${sha256Hex(CONTENT)}"`

/** What the next request is served with: each test sets it. */
let storage: AttributeStorage
let options: SendObjectOptions = {}
let outcomes: SendOutcome[] = []
let failures: Array<{ error: unknown; failure: SendFailure }> = []

const server = await startHttpServer((request, response) => {
  const key = decodeURIComponent(new URL(request.url!, 'http://x').pathname.slice(1))
  void sendObject(request, response, storage, key, {
    ...options,
    onError: (error, failure) => failures.push({ error, failure }),
  }).then((outcome) => outcomes.push(outcome))
})
afterAll(() => server.close())

const memory = new MemoryStorage()
const stored = async (body: Buffer | string, contentType?: string) =>
  (await memory.write(body, contentType ? { contentType } : {})).key

function get(key: string, headers: Record<string, string> = {}, method = 'GET') {
  return fetch(`${server.url}/${encodeURIComponent(key)}`, {
    method,
    headers,
    signal: AbortSignal.timeout(10_000),
  })
}

beforeEach(() => {
  storage = memory
  options = {}
  outcomes = []
  failures = []
})

describe('sendObject: a whole object', () => {
  it('GET: 200 with the body, its length, type, validators and the safety headers', async () => {
    const key = await stored(CONTENT, 'text/plain')
    const lastModified = (await memory.stat(key)).lastModified!
    const response = await get(key)
    expect(response.status).toBe(200)
    expect(Buffer.from(await response.arrayBuffer())).toEqual(CONTENT)
    expect(Object.fromEntries(response.headers)).toMatchObject({
      'content-type': 'text/plain',
      'content-length': '20',
      'accept-ranges': 'bytes',
      etag: ETAG,
      'last-modified': lastModified.toUTCString(),
      'x-content-type-options': 'nosniff',
      'content-disposition': 'inline',
    })
    expect(response.headers.get('cache-control')).toBeNull()
    expect(response.headers.get('content-security-policy')).toBeNull()
    expect(outcomes).toEqual([{ status: 200 }])
    expect(failures).toEqual([])
  })

  it('HEAD: the headers of the GET, no body; a Range is ignored (RFC 9110 §14.2)', async () => {
    const key = await stored(CONTENT, 'text/plain')
    const counting = new InstrumentedStorage(memory)
    storage = counting
    for (const headers of [{}, { range: 'bytes=0-3' }]) {
      const response = await get(key, headers, 'HEAD')
      expect(response.status).toBe(200)
      expect(response.headers.get('content-length')).toBe('20')
      expect(response.headers.get('content-range')).toBeNull()
      expect(response.headers.get('etag')).toBe(ETAG)
      expect(response.headers.get('accept-ranges')).toBe('bytes')
      expect((await response.arrayBuffer()).byteLength).toBe(0)
    }
    expect(counting.calls.read).toBe(0)
  })

  it('an empty object: 200 with Content-Length 0, also when a Range is asked', async () => {
    const key = await stored(Buffer.alloc(0), 'text/plain')
    for (const headers of [{}, { range: 'bytes=0-10' }]) {
      const response = await get(key, headers)
      expect(response.status).toBe(200)
      expect(response.headers.get('content-length')).toBe('0')
      expect(await response.text()).toBe('')
    }
  })

  it('Cache-Control is the one given', async () => {
    const key = await stored(CONTENT, 'text/plain')
    options = { cacheControl: 'private, max-age=60' }
    const response = await get(key)
    expect(response.headers.get('cache-control')).toBe('private, max-age=60')
  })

  it('sends no ETag when the storage recorded no SHA-256, never one of its own', async () => {
    const key = await stored(CONTENT, 'text/plain')
    storage = withoutRecordedHash(memory)
    const response = await get(key)
    expect(response.status).toBe(200)
    expect(response.headers.get('etag')).toBeNull()
    expect(response.headers.get('last-modified')).not.toBeNull()
    // Without an entity tag, If-Range can only name the date; a tag never matches.
    const ranged = await get(key, { range: 'bytes=0-1', 'if-range': ETAG })
    expect(ranged.status).toBe(200)
  })
})

describe('sendObject: ranges', () => {
  it('one range: 206 with Content-Range and just those bytes (closed, open, suffix, clamped)', async () => {
    const key = await stored(CONTENT, 'text/plain')
    const cases: Array<[string, string, string]> = [
      ['bytes=2-5', 'bytes 2-5/20', '2345'],
      ['bytes=17-', 'bytes 17-19/20', 'hij'],
      ['bytes=-2', 'bytes 18-19/20', 'ij'],
      ['bytes=15-1000', 'bytes 15-19/20', 'fghij'],
    ]
    for (const [range, contentRange, body] of cases) {
      const response = await get(key, { range })
      expect(response.status, range).toBe(206)
      expect(response.headers.get('content-range'), range).toBe(contentRange)
      expect(response.headers.get('content-length'), range).toBe(String(body.length))
      expect(response.headers.get('etag')).toBe(ETAG)
      expect(await response.text(), range).toBe(body)
    }
  })

  it('a range past the end: 416 with Content-Range: bytes */size, and nothing read', async () => {
    const key = await stored(CONTENT, 'text/plain')
    const counting = new InstrumentedStorage(memory)
    storage = counting
    const response = await get(key, { range: 'bytes=20-' })
    expect(response.status).toBe(416)
    expect(response.headers.get('content-range')).toBe('bytes */20')
    expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8')
    expect(await response.text()).toBe('Range Not Satisfiable\n')
    expect(counting.calls.read).toBe(0)
  })

  it('several ranges, another unit or a malformed header: the whole object, 200', async () => {
    const key = await stored(CONTENT, 'text/plain')
    for (const range of ['bytes=0-1,5-6', 'items=0-1', 'bytes=x-y']) {
      const response = await get(key, { range })
      expect(response.status, range).toBe(200)
      expect(response.headers.get('content-range'), range).toBeNull()
      expect(await response.text()).toBe(CONTENT.toString())
    }
  })

  it('If-Range: the range while it names the object (its ETag or Last-Modified), else the whole', async () => {
    const key = await stored(CONTENT, 'text/plain')
    const lastModified = (await memory.stat(key)).lastModified!.toUTCString()
    const status = async (ifRange: string) =>
      (await get(key, { range: 'bytes=0-1', 'if-range': ifRange })).status
    expect(await status(ETAG)).toBe(206)
    expect(await status(lastModified)).toBe(206)
    expect(await status('"stale"')).toBe(200)
    expect(await status(`W/${ETAG}`)).toBe(200) // weak tags never match If-Range
    expect(await status('Thu, 01 Jan 2004 00:00:00 GMT')).toBe(200)
  })
})

describe('sendObject: conditional requests', () => {
  it('If-None-Match that matches: 304 with the validators and Cache-Control, no body, nothing read', async () => {
    const key = await stored(CONTENT, 'text/plain')
    const counting = new InstrumentedStorage(memory)
    storage = counting
    options = { cacheControl: 'no-cache' }
    for (const ifNoneMatch of [ETAG, `W/${ETAG}`, `"other", ${ETAG}`, '*']) {
      const response = await get(key, { 'if-none-match': ifNoneMatch })
      expect(response.status, ifNoneMatch).toBe(304)
      expect(response.headers.get('etag')).toBe(ETAG)
      expect(response.headers.get('cache-control')).toBe('no-cache')
      expect(response.headers.get('last-modified')).not.toBeNull()
      expect(await response.text()).toBe('')
    }
    expect((await get(key, { 'if-none-match': '"other"' })).status).toBe(200)
    expect(counting.calls.read).toBe(1) // the one 200
  })

  it('If-Modified-Since: 304 when not modified since, 200 when modified since', async () => {
    const key = await stored(CONTENT, 'text/plain')
    const lastModified = (await memory.stat(key)).lastModified!
    const later = new Date(lastModified.getTime() + 60_000).toUTCString()
    const earlier = new Date(lastModified.getTime() - 60_000).toUTCString()
    expect((await get(key, { 'if-modified-since': later })).status).toBe(304)
    expect((await get(key, { 'if-modified-since': lastModified.toUTCString() })).status).toBe(304)
    expect((await get(key, { 'if-modified-since': earlier })).status).toBe(200)
    // If-None-Match wins over If-Modified-Since (RFC 9110 §13.1.3).
    expect(
      (await get(key, { 'if-none-match': '"other"', 'if-modified-since': later })).status,
    ).toBe(200)
  })

  it('If-Match or If-Unmodified-Since that fails: 412, nothing read', async () => {
    const key = await stored(CONTENT, 'text/plain')
    const lastModified = (await memory.stat(key)).lastModified!
    const counting = new InstrumentedStorage(memory)
    storage = counting
    const earlier = new Date(lastModified.getTime() - 60_000).toUTCString()
    const failed = await get(key, { 'if-match': '"other"' })
    expect(failed.status).toBe(412)
    expect(await failed.text()).toBe('Precondition Failed\n')
    expect((await get(key, { 'if-match': `W/${ETAG}` })).status).toBe(412) // strong comparison
    expect((await get(key, { 'if-unmodified-since': earlier })).status).toBe(412)
    expect(counting.calls.read).toBe(0)
    expect((await get(key, { 'if-match': ETAG })).status).toBe(200)
    expect((await get(key, { 'if-match': '*' })).status).toBe(200)
    expect((await get(key, { 'if-unmodified-since': lastModified.toUTCString() })).status).toBe(200)
  })
})

describe('sendObject: methods and failures', () => {
  it('another method: 405 with Allow: GET, HEAD, and nothing asked of the storage', async () => {
    const key = await stored(CONTENT, 'text/plain')
    const counting = new InstrumentedStorage(memory)
    storage = counting
    for (const method of ['POST', 'PUT', 'DELETE', 'OPTIONS']) {
      const response = await get(key, {}, method)
      expect(response.status, method).toBe(405)
      expect(response.headers.get('allow')).toBe('GET, HEAD')
      await response.arrayBuffer()
    }
    expect(counting.calls.stat + counting.calls.read).toBe(0)
  })

  it('a missing object or an invalid key: 404 with a plain body, told to onError', async () => {
    for (const key of ['no/such/object', '../../etc/passwd', '/absolute']) {
      failures = []
      const response = await get(key)
      expect(response.status, key).toBe(404)
      expect(response.headers.get('content-type')).toBe('text/plain; charset=utf-8')
      expect(response.headers.get('cache-control')).toBe('no-store')
      expect(response.headers.get('x-content-type-options')).toBe('nosniff')
      expect(await response.text()).toBe('Not Found\n')
      expect(failures.map(({ failure }) => failure)).toEqual([
        { key, status: 404, afterHeaders: false },
      ])
    }
    expect(failures[0]!.error).toBeInstanceOf(Error)
  })

  it('a storage that is unavailable: 503', async () => {
    const key = await stored(CONTENT, 'text/plain')
    storage = new InstrumentedStorage(memory).failOn({ operation: 'stat' })
    const response = await get(key)
    expect(response.status).toBe(503)
    expect(await response.text()).toBe('Service Unavailable\n')
    expect(failures[0]!.error).toBeInstanceOf(StorageUnavailableError)
    expect(failures[0]!.failure.status).toBe(503)
  })

  it('any other error: 500 with a plain body that tells nothing of it; onError gets it', async () => {
    const key = await stored(CONTENT, 'text/plain')
    const secret = new Error('EACCES: permission denied, open /var/lib/secret/files/ab/cd')
    storage = new InstrumentedStorage(memory).failOn({ operation: 'stat', error: () => secret })
    const response = await get(key)
    expect(response.status).toBe(500)
    const body = await response.text()
    expect(body).toBe('Internal Server Error\n')
    expect([...response.headers.values()].join('\n')).not.toMatch(/secret|EACCES|at /)
    expect(failures).toEqual([
      { error: secret, failure: { key, status: 500, afterHeaders: false } },
    ])
    expect(outcomes).toEqual([{ status: 500, error: secret }])
  })

  it('a storage that breaks the contract (a lastModified that is no Date): 500, never a hang', async () => {
    const key = await stored(CONTENT, 'text/plain')
    storage = new (class extends InstrumentedStorage {
      override async stat(key: string): Promise<ObjectStat> {
        return { ...(await super.stat(key)), lastModified: 'yesterday' as unknown as Date }
      }
    })(memory)
    const response = await get(key)
    expect(response.status).toBe(500)
    expect(await response.text()).toBe('Internal Server Error\n')
    expect(failures[0]!.error).toBeInstanceOf(TypeError)
    expect(failures[0]!.failure).toEqual({ key, status: 500, afterHeaders: false })
  })

  it('an onError hook that throws changes nothing for the client', async () => {
    const local = await startHttpServer((request, response) => {
      void sendObject(request, response, memory, 'missing', {
        onError: () => {
          throw new ConfigurationError('the logger is broken')
        },
      })
    })
    try {
      const response = await fetch(`${local.url}/`)
      expect(response.status).toBe(404)
      expect(await response.text()).toBe('Not Found\n')
    } finally {
      await local.close()
    }
  })

  it('an object deleted between stat and read: 404, not a 200 with no body', async () => {
    const key = await stored(CONTENT, 'text/plain')
    storage = new VanishingAfterStat(memory)
    const response = await get(key)
    expect(response.status).toBe(404)
    expect(await response.text()).toBe('Not Found\n')
    expect(failures[0]!.error).toBeInstanceOf(ObjectNotFoundError)
    expect(await memory.exists(key)).toBe(false)
  })

  it('a read that fails mid-body: the response is cut (never completed), onError told after the headers', async () => {
    const key = await stored(CONTENT, 'text/plain')
    storage = new FailingMidBody(memory)
    const response = await get(key)
    expect(response.status).toBe(200)
    await expect(response.arrayBuffer()).rejects.toThrow()
    await until(() => failures.length > 0)
    expect(failures[0]!.failure).toEqual({ key, status: 200, afterHeaders: true })
    expect((failures[0]!.error as Error).message).toBe('disk gone mid-read')
  })
})

describe('sendObject: what the browser is told to do with the content', () => {
  const served = async (contentType: string | undefined, extra: SendObjectOptions = {}) => {
    const key = await stored(CONTENT, contentType)
    options = extra
    const response = await get(key)
    await response.arrayBuffer()
    return {
      type: response.headers.get('content-type'),
      disposition: response.headers.get('content-disposition'),
      policy: response.headers.get('content-security-policy'),
    }
  }

  it('passive known types: inline by default, attachment when asked', async () => {
    expect(await served('application/pdf')).toEqual({
      type: 'application/pdf',
      disposition: 'inline',
      policy: null,
    })
    expect(await served('image/png', { disposition: 'attachment' })).toMatchObject({
      disposition: 'attachment',
    })
  })

  it('active content (HTML, SVG, XML, JavaScript): an attachment even when inline is asked', async () => {
    for (const type of [
      'text/html',
      'text/html; charset=utf-8',
      'image/svg+xml',
      'application/xhtml+xml',
      'text/xml',
      'application/javascript',
      'text/javascript',
    ]) {
      expect(await served(type, { disposition: 'inline' }), type).toEqual({
        type,
        disposition: 'attachment',
        policy: null,
      })
    }
  })

  it('allowActiveContentInline: inline, and sandboxed by Content-Security-Policy', async () => {
    expect(
      await served('image/svg+xml', { allowActiveContentInline: true, fileName: 'logo.svg' }),
    ).toEqual({
      type: 'image/svg+xml',
      disposition: 'inline; filename=logo.svg',
      policy: ACTIVE_CONTENT_POLICY,
    })
    expect(ACTIVE_CONTENT_POLICY).toMatch(/\bsandbox\b/)
    expect(ACTIVE_CONTENT_POLICY).toMatch(/default-src 'none'/)
    // An attachment asked for stays one.
    expect(
      await served('text/html', { allowActiveContentInline: true, disposition: 'attachment' }),
    ).toMatchObject({ disposition: 'attachment', policy: null })
  })

  it('no known type: application/octet-stream, as an attachment', async () => {
    expect(await served(undefined)).toEqual({
      type: 'application/octet-stream',
      disposition: 'attachment',
      policy: null,
    })
    expect(await served('application/octet-stream')).toMatchObject({ disposition: 'attachment' })
  })

  it("the caller's contentType wins over the recorded one; a file name's extension comes last, never active", async () => {
    expect(await served('application/octet-stream', { contentType: 'image/png' })).toMatchObject({
      type: 'image/png',
      disposition: 'inline',
    })
    expect(await served(undefined, { fileName: 'scan.pdf' })).toMatchObject({
      type: 'application/pdf',
      disposition: 'inline; filename=scan.pdf',
    })
    expect(await served(undefined, { fileName: 'page.html' })).toEqual({
      type: 'application/octet-stream',
      disposition: 'attachment; filename=page.html',
      policy: null,
    })
  })

  it('a content type that is no media type (CR/LF, garbage) is never copied into a header', async () => {
    const injected = 'text/plain\r\nSet-Cookie: session=stolen'
    const response = await (async () => {
      options = { contentType: injected }
      return get(await stored(CONTENT))
    })()
    expect(response.status).toBe(200)
    expect(response.headers.get('content-type')).toBe('application/octet-stream')
    expect(response.headers.get('set-cookie')).toBeNull()
    expect(await served('text/plain\r\n; charset=utf-8', {})).toMatchObject({
      type: 'application/octet-stream',
    })
    expect(await served('text/plain\u0000', {})).toMatchObject({
      type: 'application/octet-stream',
    })
  })

  it('file names cannot inject headers; separators, quotes and non-ASCII are encoded or dropped', async () => {
    const cases: Array<[string, string]> = [
      ['report.pdf', 'report.pdf'],
      ['evil\r\nSet-Cookie: a=b.pdf', 'evilSet-Cookie: a=b.pdf'],
      ['../../etc/passwd', 'passwd'],
      ['C:\\Users\\me\\notes.txt', 'notes.txt'],
      ['say "hi".txt', 'say "hi".txt'],
      ['résumé – 2026.pdf', 'résumé – 2026.pdf'],
      ['日本語.txt', '日本語.txt'],
    ]
    for (const [fileName, saved] of cases) {
      const key = await stored(CONTENT, 'application/pdf')
      options = { fileName, disposition: 'attachment' }
      const response = await get(key)
      await response.arrayBuffer()
      expect(response.status, fileName).toBe(200)
      expect(response.headers.get('set-cookie'), fileName).toBeNull()
      const header = response.headers.get('content-disposition')!
      expect(header, fileName).not.toMatch(/[\r\n]/)
      expect(header, fileName).toMatch(/^[\x20-\x7e]+$/) // ASCII only: non-ASCII goes in filename*
      const parsed = parseContentDisposition(header)
      expect(parsed.type).toBe('attachment')
      expect(parsed.parameters.filename, fileName).toBe(saved) // filename* decoded where sent
    }
    // Nothing left of a name: no filename parameter at all.
    options = { fileName: '../', disposition: 'attachment' }
    const bare = await get(await stored(CONTENT, 'application/pdf'))
    expect(bare.headers.get('content-disposition')).toBe('attachment')
  })
})

/** A storage that records no SHA-256 (as S3 for an object written by another tool). */
function withoutRecordedHash(inner: AttributeStorage): AttributeStorage {
  return new (class extends InstrumentedStorage {
    override async stat(key: string): Promise<ObjectStat> {
      const { sha256: _dropped, ...rest } = await super.stat(key)
      return rest
    }
  })(inner)
}

/** Loses the race with a deletion: the object is deleted right after it was stat'ed. */
class VanishingAfterStat extends InstrumentedStorage {
  override async stat(key: string): Promise<ObjectStat> {
    const stat = await super.stat(key)
    await this.inner.delete(key)
    return stat
  }
}

/** Fault injection: the read starts, gives 5 bytes, then fails. */
class FailingMidBody extends InstrumentedStorage {
  override async readStream(key: string, options?: ReadOptions): Promise<Readable> {
    const bytes = await this.inner.read(key, options)
    return Readable.from(
      (async function* () {
        yield bytes.subarray(0, 5)
        await new Promise((resolve) => setTimeout(resolve, 20))
        throw new Error('disk gone mid-read')
      })(),
      { objectMode: false },
    )
  }
}

async function until(condition: () => boolean, timeoutMs = 5_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`condition not met within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 10))
  }
}
