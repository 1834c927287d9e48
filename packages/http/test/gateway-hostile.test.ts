/**
 * The gateway attacked as a hostile client would: raw request targets the clients would
 * never send (traversal, other spellings of hidden prefixes, NUL, CRLF), listings asked to
 * reveal hidden keys, malformed parameters, signatures bent out of shape. Each finding of
 * the review has its test here; the expected answers are S3's.
 */
import http from 'node:http'
import { Hash } from '@smithy/hash-node'
import { SignatureV4 } from '@smithy/signature-v4'
import { afterAll, describe, expect, it } from 'vitest'
import { CREDENTIAL, HIDDEN_KEY, REGION, startGatewayWorld } from './gateway-fixture.js'

const world = await startGatewayWorld({ anonymous: true })
afterAll(() => world.stop())
const { hostname, port } = new URL(world.endpoint)

interface Answer {
  status: number
  headers: http.IncomingHttpHeaders
  body: string
}

/** One request with the target sent byte for byte as given (fetch would normalise it). */
function raw(
  target: string,
  options: { method?: string; headers?: Record<string, string> } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const request = http.request(
      { hostname, port, path: target, method: options.method ?? 'GET', headers: options.headers },
      (response) => {
        const chunks: Buffer[] = []
        response.on('data', (chunk: Buffer) => chunks.push(chunk))
        response.on('end', () =>
          resolve({
            status: response.statusCode!,
            headers: response.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }),
        )
      },
    )
    request.setTimeout(10_000, () => request.destroy(new Error(`timeout: ${target}`)))
    request.on('error', reject)
    request.end()
  })
}

class Sha256 extends Hash {
  constructor(secret?: Parameters<typeof Hash.prototype.update>[0]) {
    super('sha256', secret as never)
  }
}

/** Headers of a request signed with the test credential (header SigV4). */
async function signedHeaders(
  target: string,
  options: { method?: string; unsignableHeaders?: string[]; date?: Date } = {},
): Promise<Record<string, string>> {
  const url = new URL(target, world.endpoint)
  const query: Record<string, string> = {}
  for (const [name, value] of url.searchParams) query[name] = value
  const signer = new SignatureV4({
    credentials: CREDENTIAL,
    region: REGION,
    service: 's3',
    sha256: Sha256,
    uriEscapePath: false,
  })
  const signed = await signer.sign(
    {
      method: options.method ?? 'GET',
      protocol: 'http:',
      hostname: url.host,
      path: url.pathname,
      query,
      headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
    },
    {
      signingDate: options.date ?? new Date(),
      unsignableHeaders: new Set(options.unsignableHeaders ?? []),
    },
  )
  return signed.headers as Record<string, string>
}

/** What no answer may ever contain: the storage's root, a stack trace, a Node error. */
function expectNothingLeaked(answer: Answer): void {
  expect(answer.body).not.toContain('/tmp/')
  expect(answer.body).not.toMatch(/\bat .*\.(ts|js):\d+/)
  expect(answer.body).not.toMatch(/ERR_|ENOENT|TypeError/)
}

const SECRET = 'nobody may see this'
const CHECKSUM_OF_PLAIN = '.attrstore/sha256/plain.txt'

describe('keys that try to leave the bucket', () => {
  it.each([
    '/files/../../../../etc/passwd',
    '/files/%2e%2e/%2e%2e/%2e%2e/etc/passwd',
    '/files/dir%2f..%2f..%2f..%2fetc%2fpasswd',
    '/files/dir/..%5c..%5c..%5cetc%5cpasswd',
    '/files/%2fetc%2fpasswd',
    '/files//etc/passwd',
    '/files/plain.txt%00.jpg',
    '/files/%00',
  ])('%s is NoSuchKey, and the answer tells nothing of the filesystem', async (target) => {
    const answer = await raw(target)
    expect(answer.status).toBe(404)
    expect(answer.body).toContain('<Code>NoSuchKey</Code>')
    expect(answer.body).not.toContain('root:')
    expectNothingLeaked(answer)
  })

  it('a malformed percent-encoding is InvalidURI, not a crash', async () => {
    const answer = await raw('/files/%E0%A4%A')
    expect(answer.status).toBe(400)
    expect(answer.body).toContain('<Code>InvalidURI</Code>')
    expectNothingLeaked(answer)
  })
})

describe('hidden prefixes reached through other spellings', () => {
  it.each([
    `/files/${CHECKSUM_OF_PLAIN}`,
    '/files/%2Eattrstore/sha256/plain.txt',
    '/files/.attrstore%2Fsha256%2Fplain.txt',
    '/files//.attrstore/sha256/plain.txt',
    '/files/./.attrstore/sha256/plain.txt',
    '/files/dir/../.attrstore/sha256/plain.txt',
    '/files/.attrstore/./sha256/plain.txt',
    '/files/.attrstore//sha256/plain.txt',
    `/files/${HIDDEN_KEY}`,
    '/files/private//secret.txt',
    '/files/private/./secret.txt',
    '/files/./private/secret.txt',
    '/files//private/secret.txt',
    '/files/dir/../private/secret.txt',
    '/files/private%2Fsecret.txt',
    '/memory/private/secret.txt',
    '/memory/private//secret.txt',
    '/archive/plain.txt',
  ])('%s is answered as missing', async (target) => {
    const answer = await raw(target)
    expect(answer.status).toBe(404)
    expect(answer.body).not.toContain(SECRET)
    expect(answer.body).toMatch(/<Code>NoSuch(Key|Bucket)<\/Code>/)
    expectNothingLeaked(answer)
  })

  it('the other spellings of the hidden key are missing on HEAD too', async () => {
    for (const target of ['/files/private//secret.txt', '/files//.attrstore/sha256/plain.txt'])
      expect((await raw(target, { method: 'HEAD' })).status).toBe(404)
  })

  it.each([
    'prefix=.attrstore',
    'prefix=.attrstore/',
    'prefix=.attr',
    'prefix=%2Eattrstore%2F',
    'prefix=priv',
    'prefix=private/',
    'prefix=/private/',
    'prefix=./',
    'start-after=private/',
    'start-after=.attrstore',
    'delimiter=/',
    'delimiter=e',
    'delimiter=.',
    'delimiter=/&prefix=private',
    'delimiter=s&prefix=p',
    'max-keys=1000&delimiter=%2F&prefix=',
  ])('a listing with %s shows no hidden key, folder or byte of one', async (query) => {
    for (const bucket of ['files', 'memory']) {
      for (const list of ['list-type=2&', '']) {
        const answer = await raw(`/${bucket}?${list}${query}`)
        expect(answer.status).toBe(200)
        expect(answer.body).not.toMatch(/<Key>(\/|\.\/)?(private\/|\.attrstore)/)
        // The request's own prefix is echoed in <Prefix>, as S3 does; a rolled-up one never shows.
        expect(answer.body).not.toMatch(/<CommonPrefixes><Prefix>(\/|\.\/)?(private|\.attrstore)/)
        expect(answer.body).not.toContain('secret')
        expect(answer.body).not.toContain('sha256/')
      }
    }
  })

  it('ListBuckets shows no hidden bucket, and a hidden one is as missing as an absent one', async () => {
    const listed = await raw('/')
    expect(listed.body).not.toContain('archive')
    const hidden = await raw('/archive?list-type=2')
    const absent = await raw('/absent?list-type=2')
    expect(hidden.status).toBe(404)
    expect(hidden.body.replace(/archive|<RequestId>[^<]*/g, '')).toBe(
      absent.body.replace(/absent|<RequestId>[^<]*/g, ''),
    )
    for (const spelling of ['/Archive?list-type=2', '/ARCHIVE/plain.txt', '/archive./plain.txt'])
      expect((await raw(spelling)).status).toBe(404)
  })
})

describe('keys that try to write headers', () => {
  it('a key with CR LF is missing, and sets no header', async () => {
    const answer = await raw('/files/a%0D%0ASet-Cookie:%20owned=1')
    expect(answer.status).toBe(404)
    expect(answer.headers['set-cookie']).toBeUndefined()
    // The key is escaped in the error document, never raw markup.
    const injected = await raw('/files/%3C%2FKey%3E%3CCode%3EOwned%3C%2FCode%3E')
    expect(injected.body).not.toContain('<Code>Owned</Code>')
    expect(injected.body).toContain('&lt;/Key&gt;')
  })

  it('response-* overrides are refused on anonymous requests', async () => {
    const answer = await raw('/files/plain.txt?response-content-disposition=attachment')
    expect(answer.status).toBe(400)
    expect(answer.body).toContain('<Code>InvalidRequest</Code>')
    expect(answer.headers['content-disposition']).toBeUndefined()
  })

  it('a signed override with CR LF is InvalidArgument, not a header and not a 500', async () => {
    const target =
      '/files/plain.txt?response-content-disposition=' +
      encodeURIComponent('attachment\r\nSet-Cookie: owned=1')
    const answer = await raw(target, { headers: await signedHeaders(target) })
    expect(answer.status).toBe(400)
    expect(answer.body).toContain('<Code>InvalidArgument</Code>')
    expect(answer.headers['set-cookie']).toBeUndefined()
    expectNothingLeaked(answer)
  })

  it('a signed override with a character no header can carry is InvalidArgument too', async () => {
    const target = '/files/plain.txt?response-content-type=' + encodeURIComponent('text/plain☃')
    const answer = await raw(target, { headers: await signedHeaders(target) })
    expect(answer.status).toBe(400)
    expect(answer.body).toContain('<Code>InvalidArgument</Code>')
  })
})

describe('malformed listing parameters', () => {
  it.each(['-1', '1e9', 'abc', '', '0x10', '99999999999999999999', '1.5', ' 5'])(
    'max-keys=%s is InvalidArgument',
    async (value) => {
      const answer = await raw(`/files?list-type=2&max-keys=${encodeURIComponent(value)}`)
      expect(answer.status).toBe(400)
      expect(answer.body).toContain('<Code>InvalidArgument</Code>')
      expectNothingLeaked(answer)
    },
  )

  it('max-keys above 1000 is served as 1000; max-keys=0 as an empty page', async () => {
    const large = await raw('/files?list-type=2&max-keys=1000000000')
    expect(large.body).toContain('<MaxKeys>1000</MaxKeys>')
    expect(large.body.split('<Contents>').length - 1).toBe(1000)
    const none = await raw('/files?list-type=2&max-keys=0')
    expect(none.status).toBe(200)
    expect(none.body).toContain('<KeyCount>0</KeyCount>')
  })

  it('a continuation token of another bucket, prefix or delimiter is InvalidArgument', async () => {
    const first = await raw('/files?list-type=2&max-keys=2')
    const token = /<NextContinuationToken>([^<]+)</.exec(first.body)![1]!
    for (const other of [
      '/memory?list-type=2',
      '/files?list-type=2&prefix=private/',
      '/files?list-type=2&delimiter=/',
    ]) {
      const answer = await raw(`${other}&continuation-token=${encodeURIComponent(token)}`)
      expect(answer.status).toBe(400)
      expect(answer.body).toContain('<Code>InvalidArgument</Code>')
    }
    const garbage = await raw(
      `/files?list-type=2&continuation-token=${encodeURIComponent('eyJ9.AAAA')}`,
    )
    expect(garbage.status).toBe(400)
    expectNothingLeaked(garbage)
  })

  it('an unknown list-type and a huge query are answered, not crashed on', async () => {
    expect((await raw('/files?list-type=3')).status).toBe(400)
    const long = await raw(`/files?list-type=2&prefix=${'a'.repeat(6000)}`)
    expect(long.status).toBe(200)
    expect(long.body).toContain('<KeyCount>0</KeyCount>')
  })
})

describe('signatures bent out of shape', () => {
  it('a signature that leaves host out of SignedHeaders is refused', async () => {
    const target = '/files/plain.txt'
    const headers = await signedHeaders(target, { unsignableHeaders: ['host'] })
    expect(headers.authorization).not.toMatch(/SignedHeaders=[^,]*host/)
    const answer = await raw(target, { headers })
    expect(answer.status).toBe(400)
    expect(answer.body).toContain('<Code>AuthorizationHeaderMalformed</Code>')
  })

  it('an X-Amz-Date far in the future is RequestTimeTooSkewed', async () => {
    const target = '/files/plain.txt'
    const headers = await signedHeaders(target, { date: new Date(Date.now() + 3600_000) })
    const answer = await raw(target, { headers })
    expect(answer.status).toBe(403)
    expect(answer.body).toContain('<Code>RequestTimeTooSkewed</Code>')
  })

  it('a presigned URL valid for more than seven days is refused', async () => {
    const signer = new SignatureV4({
      credentials: CREDENTIAL,
      region: REGION,
      service: 's3',
      sha256: Sha256,
      uriEscapePath: false,
    })
    const url = new URL('/files/plain.txt', world.endpoint)
    const presigned = await signer.presign(
      {
        method: 'GET',
        protocol: 'http:',
        hostname: url.host,
        path: url.pathname,
        query: {},
        headers: { host: url.host, 'x-amz-content-sha256': 'UNSIGNED-PAYLOAD' },
      },
      {
        expiresIn: 7 * 24 * 3600,
        unsignableHeaders: new Set(['x-amz-content-sha256']),
        unhoistableHeaders: new Set(['x-amz-content-sha256']),
      },
    )
    const query = new URLSearchParams(presigned.query as Record<string, string>)
    const valid = await raw(`${url.pathname}?${query}`)
    expect(valid.status).toBe(200)
    query.set('X-Amz-Expires', String(7 * 24 * 3600 + 1))
    const tooLong = await raw(`${url.pathname}?${query}`)
    expect(tooLong.status).toBe(400)
    expect(tooLong.body).toContain('<Code>AuthorizationQueryParametersError</Code>')
    // A second X-Amz-Signature (a valid one first) does not make a bad request pass.
    const doubled = new URLSearchParams(presigned.query as Record<string, string>)
    doubled.append('X-Amz-Signature', '0'.repeat(64))
    doubled.append('response-content-disposition', 'attachment')
    const answer = await raw(`${url.pathname}?${doubled}`)
    expect(answer.status).toBe(403)
    expect(answer.headers['content-disposition']).toBeUndefined()
  })

  it('a signed write with UNSIGNED-PAYLOAD is refused: the gateway is read-only', async () => {
    for (const method of ['PUT', 'DELETE', 'POST']) {
      const target = '/files/plain.txt'
      const answer = await raw(target, {
        method,
        headers: await signedHeaders(target, { method }),
      })
      expect(answer.status).toBe(403)
      expect(answer.body).toContain('<Code>AccessDenied</Code>')
    }
    expect((await raw('/files/plain.txt')).body).toBe('content of plain.txt\n')
  })

  it('a SigV2 query signature and a foreign Authorization scheme are refused', async () => {
    const v2 = await raw('/files/plain.txt?AWSAccessKeyId=GATEWAYTESTKEY&Signature=x&Expires=1')
    expect(v2.status).toBe(400)
    const basic = await raw('/files/plain.txt', {
      headers: { authorization: 'Basic Zm9vOmJhcg==' },
    })
    expect(basic.status).toBe(400)
    expectNothingLeaked(basic)
  })
})
