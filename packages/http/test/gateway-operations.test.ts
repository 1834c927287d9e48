/**
 * The gateway's operations that gateway-clients.test.ts does not reach, through the real
 * clients that call them (the aws CLI, boto3) and on the wire: HeadBucket,
 * GetBucketLocation, GetBucketAcl, ListObjects v1 paged by marker, start-after,
 * encoding-type=url, fetch-owner, If-Modified-Since / If-Unmodified-Since,
 * response-content-* overrides, NotImplemented, anonymous access, an expired presigned URL,
 * x-amz-request-id on every answer, and the CORS preflight. The gateway here serves signed
 * requests (the test credential) and unsigned ones (anonymous: true); one of its buckets is
 * a prefix of a storage. A missing client skips
 * its tests, printing why; under CI=true it fails instead.
 */
import { readFile } from 'node:fs/promises'
import {
  awsCli,
  runClient,
  startHttpServer,
  whyClientCannotRun,
  type AwsCli,
} from '@attrstore/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createS3Gateway } from '../src/index.js'
import { awsPresign, boto3Environment } from './gateway-clients.js'
import {
  BLOB_KEY,
  CREDENTIAL,
  manyKey,
  MANY,
  REGION,
  startGatewayWorld,
  type GatewayWorld,
} from './gateway-fixture.js'

const ALLOWED_ORIGIN = 'https://viewer.example'
const world: GatewayWorld = await startGatewayWorld()
const gateway = createS3Gateway({
  buckets: {
    ...world.storages,
    archive: world.storages.memory,
    // A bucket that is a part of a storage: its keys under dir/, served without it.
    subdir: { storage: world.storages.files, prefix: 'dir/' },
  },
  credentials: [CREDENTIAL],
  anonymous: true,
  hidden: ['archive', 'files/private/', 'memory/private/'],
  region: REGION,
  cors: { origins: [ALLOWED_ORIGIN] },
})
/** Every request target the gateway was sent, in order. */
const seen: string[] = []
const server = await startHttpServer((request, response) => {
  seen.push(`${request.method} ${request.url}`)
  gateway(request, response)
})
const endpoint = server.url
afterAll(async () => {
  await server.close()
  await gateway.close()
  await world.stop()
})

const request = (path: string, init: RequestInit = {}) =>
  fetch(`${endpoint}${path}`, { ...init, signal: AbortSignal.timeout(15_000) })
const manyKeys = Array.from({ length: MANY }, (_, n) => manyKey(n))
/** The requests made since `from` that match `pattern`. */
const requestsSince = (from: number, pattern: RegExp) =>
  seen.slice(from).filter((target) => pattern.test(target))

function skipUnlessPresent(name: string, missing: string | undefined) {
  if (missing) console.warn(`[skip] ${name}: ${missing}`)
  const absentInCi = process.env.CI !== undefined && missing !== undefined
  return {
    skip: missing !== undefined && !absentInCi,
    title: missing ? ` (skipped: ${missing})` : '',
    check: () => {
      if (absentInCi) throw new Error(`CI must install ${name}: ${missing}`)
    },
  }
}

const awsMissing = await whyClientCannotRun('the aws CLI', 'aws', ['--version'], {
  PATH: process.env.PATH ?? '/usr/bin',
})
const awsGate = skipUnlessPresent('the aws CLI', awsMissing)

describe.skipIf(awsGate.skip)(`the aws CLI${awsGate.title}`, () => {
  let cli: AwsCli
  beforeAll(async () => {
    awsGate.check()
    cli = await awsCli({ endpoint, region: REGION, credentials: CREDENTIAL })
  })
  afterAll(() => cli?.stop())
  /** The aws CLI's error output for a call that must fail. */
  const failure = (args: string[], extra?: Record<string, string>) =>
    cli.aws(args, extra).then(
      () => 'succeeded',
      (error: Error) => error.message,
    )

  it('head-bucket: a served bucket answers, a hidden one is as absent as a missing one', async () => {
    await expect(cli.aws(['s3api', 'head-bucket', '--bucket', 'files'])).resolves.toBeDefined()
    expect(await failure(['s3api', 'head-bucket', '--bucket', 'archive'])).toMatch(/404/)
    expect(await failure(['s3api', 'head-bucket', '--bucket', 'no-such-bucket'])).toMatch(/404/)
  })

  it("get-bucket-location: us-east-1 is S3's empty LocationConstraint", async () => {
    const location = await cli.json(['s3api', 'get-bucket-location', '--bucket', 'files'])
    expect(location).toHaveProperty('LocationConstraint')
    expect(location.LocationConstraint ?? null).toBeNull()
  })

  it("get-bucket-acl: the owner's FULL_CONTROL, parsed by the CLI", async () => {
    const acl = await cli.json(['s3api', 'get-bucket-acl', '--bucket', 'memory'])
    expect(acl.Owner).toMatchObject({ DisplayName: 'attrstore', ID: expect.any(String) })
    expect(acl.Grants).toEqual([
      {
        Grantee: { DisplayName: 'attrstore', ID: acl.Owner.ID, Type: 'CanonicalUser' },
        Permission: 'FULL_CONTROL',
      },
    ])
  })

  it('list-objects (v1) pages of 100 by marker: every key once, in order', async () => {
    const from = seen.length
    const listed = await cli.json([
      's3api',
      'list-objects',
      '--bucket',
      'files',
      '--prefix',
      'many/',
      '--page-size',
      '100',
    ])
    expect(listed.Contents.map((c: { Key: string }) => c.Key)).toEqual(manyKeys)
    expect(listed.Contents[0].Owner).toMatchObject({ DisplayName: 'attrstore' })
    const pages = requestsSince(from, /^GET \/files\?/)
    expect(pages).toHaveLength(Math.ceil(MANY / 100))
    // v1 continues by marker (the last key of the page before), never by a v2 token.
    expect(pages.slice(1).every((target) => /[?&]marker=many%2F/.test(target))).toBe(true)
    expect(pages.some((target) => /list-type|continuation-token/.test(target))).toBe(false)
  })

  it('get-object with --response-content-type and --response-content-disposition', async () => {
    const file = `${cli.directory}/override.txt`
    const answer = await cli.json([
      's3api',
      'get-object',
      '--bucket',
      'files',
      '--key',
      'plain.txt',
      '--response-content-type',
      'text/x-override',
      '--response-content-disposition',
      'attachment; filename="override.txt"',
      file,
    ])
    expect(answer).toMatchObject({
      ContentType: 'text/x-override',
      ContentDisposition: 'attachment; filename="override.txt"',
    })
  })

  it('get-object --if-modified-since / --if-unmodified-since: 304 and 412', async () => {
    const file = `${cli.directory}/conditional.txt`
    const get = (...extra: string[]) =>
      failure(['s3api', 'get-object', '--bucket', 'files', '--key', 'plain.txt', ...extra, file])
    const future = new Date(Date.now() + 3_600_000).toISOString()
    const past = '2001-01-01T00:00:00Z'
    expect(await get('--if-modified-since', future)).toMatch(/304|Not Modified/)
    expect(await get('--if-unmodified-since', past)).toMatch(/PreconditionFailed|412/)
    expect(await get('--if-modified-since', past)).toBe('succeeded')
    expect(await get('--if-unmodified-since', future)).toBe('succeeded')
  })

  it('an operation the gateway does not implement: NotImplemented', async () => {
    expect(await failure(['s3api', 'get-bucket-policy', '--bucket', 'files'])).toMatch(
      /NotImplemented/,
    )
    expect(await failure(['s3api', 'get-bucket-tagging', '--bucket', 'files'])).toMatch(
      /NotImplemented/,
    )
  })

  it('--no-sign-request reads an anonymous gateway', async () => {
    const listed = await cli.json([
      's3api',
      'list-objects-v2',
      '--bucket',
      'memory',
      '--prefix',
      'dir/',
      '--no-sign-request',
    ])
    expect(listed.Contents.map((c: { Key: string }) => c.Key)).toContain('dir/hash#1.txt')
    // An unsigned write is refused as a signed one is.
    const file = `${cli.directory}/upload.txt`
    await runClient('sh', ['-c', `echo x > '${file}'`], { PATH: process.env.PATH ?? '/usr/bin' })
    expect(
      await failure([
        's3',
        'cp',
        file,
        's3://memory/new.txt',
        '--no-sign-request',
        '--no-progress',
      ]),
    ).toMatch(/AccessDenied|403/)
    expect(await world.storages.memory.exists('new.txt')).toBe(false)
  })

  it('a bucket that is a prefix of a storage: listed and read without the prefix, nothing outside it', async () => {
    const listed = await cli.json(['s3api', 'list-objects-v2', '--bucket', 'subdir'])
    const inside = world.visibleKeys.filter((key) => key.startsWith('dir/'))
    expect(listed.Contents.map((c: { Key: string }) => c.Key)).toEqual(
      inside.map((key) => key.slice('dir/'.length)),
    )
    const file = `${cli.directory}/from-subdir.txt`
    await cli.aws(['s3', 'cp', 's3://subdir/hash#1.txt', file, '--no-progress'])
    expect(await readFile(file, 'utf8')).toBe('content of dir/hash#1.txt\n')
    expect(
      await failure(['s3api', 'head-object', '--bucket', 'subdir', '--key', 'plain.txt']),
    ).toMatch(/404/)
    expect(
      await failure(['s3api', 'head-object', '--bucket', 'subdir', '--key', '../plain.txt']),
    ).toMatch(/404|400/)
  })

  it('a URL from aws s3 presign past its expiry: 403 AccessDenied, nothing served', async () => {
    const url = await awsPresign(endpoint, 'files', 'plain.txt', 1)
    await new Promise((resolve) => setTimeout(resolve, 2_500))
    const response = await fetch(url, { signal: AbortSignal.timeout(15_000) })
    const body = await response.text()
    expect(response.status).toBe(403)
    expect(body).toContain('<Code>AccessDenied</Code>')
    expect(body).not.toContain('content of plain.txt')
    // A fresh one works.
    const fresh = await fetch(await awsPresign(endpoint, 'files', 'plain.txt', 60))
    expect(await fresh.text()).toBe('content of plain.txt\n')
  }, 30_000)
})

const BOTO3_OPERATIONS = `
import json, sys, os
import boto3
from botocore.config import Config
from botocore.exceptions import ClientError
from datetime import datetime, timezone
endpoint, op = sys.argv[1:3]
client = boto3.client('s3', endpoint_url=endpoint, region_name=os.environ['REGION'],
    aws_access_key_id=os.environ['KEY'], aws_secret_access_key=os.environ['SECRET'],
    config=Config(s3={'addressing_style': 'path'}, signature_version='s3v4',
    retries={'max_attempts': 1}, connect_timeout=10, read_timeout=30))
def code(call):
    try:
        call()
        return 'ok'
    except ClientError as error:
        return error.response['Error']['Code']
out = None
if op == 'bucket':
    out = {
        'location': client.get_bucket_location(Bucket='files').get('LocationConstraint'),
        'acl': client.get_bucket_acl(Bucket='files')['Grants'],
        'head': code(lambda: client.head_bucket(Bucket='files')),
        'hidden': code(lambda: client.head_bucket(Bucket='archive')),
        'policy': code(lambda: client.get_bucket_policy(Bucket='files')),
    }
elif op == 'v1':
    keys = []
    for page in client.get_paginator('list_objects').paginate(Bucket='memory', Prefix='many/', PaginationConfig={'PageSize': 250}):
        keys += [c['Key'] for c in page.get('Contents', [])]
    out = keys
elif op == 'after':
    out = [c['Key'] for c in client.list_objects_v2(Bucket='files', StartAfter='dir/', MaxKeys=3)['Contents']]
elif op == 'conditional':
    past = datetime(2001, 1, 1, tzinfo=timezone.utc)
    out = {
        'unmodified': code(lambda: client.get_object(Bucket='files', Key='plain.txt', IfUnmodifiedSince=past)),
        'modified': code(lambda: client.get_object(Bucket='files', Key='plain.txt', IfModifiedSince=past)),
    }
print(json.dumps(out))
`

const boto3Missing = await whyClientCannotRun('boto3', 'python3', ['-c', 'import boto3'], {
  PATH: process.env.PATH ?? '/usr/bin',
})
const boto3Gate = skipUnlessPresent('boto3', boto3Missing)

describe.skipIf(boto3Gate.skip)(`boto3${boto3Gate.title}`, () => {
  beforeAll(() => boto3Gate.check())
  const boto3 = async (op: string) =>
    JSON.parse(
      (
        await runClient(
          'python3',
          ['-c', BOTO3_OPERATIONS, endpoint, op],
          boto3Environment('/nonexistent'),
        )
      ).toString(),
    )

  it('GetBucketLocation, GetBucketAcl, HeadBucket (a hidden bucket 404), NotImplemented', async () => {
    expect(await boto3('bucket')).toEqual({
      location: null,
      acl: [
        {
          Grantee: { DisplayName: 'attrstore', ID: expect.any(String), Type: 'CanonicalUser' },
          Permission: 'FULL_CONTROL',
        },
      ],
      head: 'ok',
      hidden: '404',
      policy: 'NotImplemented',
    })
  })

  it("list_objects (v1)'s paginator goes by marker through every key", async () => {
    const from = seen.length
    expect(await boto3('v1')).toEqual(manyKeys)
    const pages = requestsSince(from, /^GET \/memory\?/)
    expect(pages).toHaveLength(Math.ceil(MANY / 250))
    expect(pages.slice(1).every((target) => /[?&]marker=many%2F/.test(target))).toBe(true)
    // botocore asks for url-encoded keys and decodes them.
    expect(pages.every((target) => /[?&]encoding-type=url/.test(target))).toBe(true)
  })

  it('StartAfter starts after the key, in byte order', async () => {
    const from = seen.length
    const at = world.visibleKeys.findIndex((key) => key > 'dir/')
    expect(await boto3('after')).toEqual(world.visibleKeys.slice(at, at + 3))
    expect(requestsSince(from, /[?&]start-after=dir%2F/)).toHaveLength(1)
  })

  it('IfUnmodifiedSince in the past is PreconditionFailed; IfModifiedSince in the past reads', async () => {
    expect(await boto3('conditional')).toEqual({ unmodified: 'PreconditionFailed', modified: 'ok' })
  })
})

describe('listing parameters on the wire', () => {
  const listing = async (query: string) => {
    const response = await request(`/files?${query}`)
    expect(response.status, query).toBe(200)
    return response.text()
  }
  const keysOf = (xml: string) => [...xml.matchAll(/<Key>([^<]*)<\/Key>/g)].map((m) => m[1]!)

  it('encoding-type=url percent-encodes keys, prefixes and the delimiter, and says so', async () => {
    const encoded = await listing('list-type=2&prefix=dir/&encoding-type=url')
    expect(encoded).toContain('<EncodingType>url</EncodingType>')
    expect(encoded).toContain('<Prefix>dir%2F</Prefix>')
    expect(keysOf(encoded)).toEqual(
      keysOf(await listing('list-type=2&prefix=dir/')).map((key) => encodeURIComponent(key)),
    )
    expect(keysOf(encoded)).toContain('dir%2Fwith%20space.txt')
    expect(keysOf(encoded)).toContain('dir%2Fplus%2Bsign.txt')
    const plain = await listing('list-type=2&prefix=dir/')
    expect(plain).not.toContain('<EncodingType>')
    expect(keysOf(plain)).toContain('dir/with space.txt')
    const rolled = await listing('list-type=2&delimiter=/&encoding-type=url')
    expect(rolled).toContain('<Delimiter>%2F</Delimiter>')
    expect(rolled).toContain('<Prefix>dir%2F</Prefix>')
    // v1 too.
    expect(keysOf(await listing('prefix=dir/&encoding-type=url'))).toEqual(keysOf(encoded))
    const refused = await request('/files?list-type=2&encoding-type=base64')
    expect(refused.status).toBe(400)
    expect(await refused.text()).toContain('<Code>InvalidArgument</Code>')
  })

  it('fetch-owner: v2 lists owners only when asked; v1 always does', async () => {
    const owners = (xml: string) =>
      xml
        .split('<Contents>')
        .slice(1)
        .map((c) => c.includes('<Owner>'))
    const without = await listing('list-type=2&prefix=deep/')
    expect(owners(without)).toEqual([false])
    const withOwner = await listing('list-type=2&prefix=deep/&fetch-owner=true')
    expect(owners(withOwner)).toEqual([true])
    expect(withOwner).toMatch(
      /<Owner><ID>[0-9a-f]{64}<\/ID><DisplayName>attrstore<\/DisplayName><\/Owner>/,
    )
    expect(owners(await listing('prefix=deep/'))).toEqual([true])
  })

  it('ListObjects v1: marker continues after the key; NextMarker only with a delimiter', async () => {
    const first = await listing('prefix=many/&max-keys=10')
    expect(keysOf(first)).toEqual(manyKeys.slice(0, 10))
    expect(first).toContain('<IsTruncated>true</IsTruncated>')
    expect(first).toContain('<Marker></Marker>')
    expect(first).not.toContain('<NextMarker>')
    const second = await listing(
      `prefix=many/&max-keys=10&marker=${encodeURIComponent(manyKeys[9]!)}`,
    )
    expect(second).toContain(`<Marker>${manyKeys[9]}</Marker>`)
    expect(keysOf(second)).toEqual(manyKeys.slice(10, 20))
    // A marker this gateway never served as a page's end: still the keys after it.
    const cold = await listing(
      `prefix=many/&max-keys=3&marker=${encodeURIComponent('many/0500.txt~')}`,
    )
    expect(keysOf(cold)).toEqual(manyKeys.slice(501, 504))
    const last = await listing(`prefix=many/&marker=${encodeURIComponent(manyKeys[MANY - 2]!)}`)
    expect(keysOf(last)).toEqual([manyKeys[MANY - 1]])
    expect(last).toContain('<IsTruncated>false</IsTruncated>')
    const rolled = await listing('delimiter=/&max-keys=2')
    expect(rolled).toContain('<IsTruncated>true</IsTruncated>')
    expect(rolled).toMatch(/<NextMarker>[^<]+<\/NextMarker>/)
  })
})

describe('GetObject conditions on the wire', () => {
  it('If-Modified-Since and If-Unmodified-Since against Last-Modified (RFC 9110 order)', async () => {
    const head = await request(`/files/${BLOB_KEY}`, { method: 'HEAD' })
    const lastModified = new Date(head.headers.get('last-modified')!)
    expect(lastModified.getTime()).not.toBeNaN()
    const later = new Date(lastModified.getTime() + 60_000).toUTCString()
    const earlier = new Date(lastModified.getTime() - 60_000).toUTCString()
    const status = async (headers: Record<string, string>) => {
      const response = await request(`/files/${BLOB_KEY}`, { headers })
      const body = await response.text()
      return { status: response.status, code: /<Code>([^<]+)<\/Code>/.exec(body)?.[1] }
    }
    expect(await status({ 'if-modified-since': later })).toEqual({ status: 304, code: undefined })
    expect(await status({ 'if-modified-since': lastModified.toUTCString() })).toMatchObject({
      status: 304,
    })
    expect(await status({ 'if-modified-since': earlier })).toMatchObject({ status: 200 })
    expect(await status({ 'if-unmodified-since': earlier })).toEqual({
      status: 412,
      code: 'PreconditionFailed',
    })
    expect(await status({ 'if-unmodified-since': later })).toMatchObject({ status: 200 })
    // If-Match wins over If-Unmodified-Since; If-None-Match over If-Modified-Since.
    const etag = head.headers.get('etag')!
    expect(await status({ 'if-match': etag, 'if-unmodified-since': earlier })).toMatchObject({
      status: 200,
    })
    expect(await status({ 'if-none-match': '"other"', 'if-modified-since': later })).toMatchObject({
      status: 200,
    })
  })
})

describe('x-amz-request-id', () => {
  it('is on every kind of answer, new each time, and the error documents name it and the resource', async () => {
    const cases: Array<[string, RequestInit, number]> = [
      ['/', {}, 200],
      ['/files?list-type=2&max-keys=1', {}, 200],
      ['/files?max-keys=1', {}, 200],
      ['/files', { method: 'HEAD' }, 200],
      ['/files?location', {}, 200],
      ['/files?acl', {}, 200],
      ['/files/plain.txt', {}, 200],
      ['/files/plain.txt', { method: 'HEAD' }, 200],
      ['/files/plain.txt', { headers: { range: 'bytes=0-3' } }, 206],
      ['/files/plain.txt', { headers: { range: 'bytes=9999-' } }, 416],
      ['/files/plain.txt', { headers: { 'if-none-match': '*' } }, 304],
      ['/files/plain.txt', { headers: { 'if-match': '"other"' } }, 412],
      ['/files/no-such-key.txt', {}, 404],
      ['/files/no-such-key.txt', { method: 'HEAD' }, 404],
      ['/no-such-bucket?list-type=2', {}, 404],
      ['/files/plain.txt', { method: 'PUT', body: 'x' }, 403],
      ['/files?policy', {}, 501],
      ['/files?list-type=3', {}, 400],
      [
        '/files/plain.txt',
        {
          method: 'OPTIONS',
          headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'GET' },
        },
        200,
      ],
      [
        '/files/plain.txt',
        {
          method: 'OPTIONS',
          headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'GET' },
        },
        403,
      ],
    ]
    const ids = new Set<string>()
    for (const [path, init, expected] of cases) {
      const what = `${init.method ?? 'GET'} ${path}`
      const response = await request(path, init)
      const body = await response.text()
      expect(response.status, what).toBe(expected)
      const id = response.headers.get('x-amz-request-id')
      expect(id, what).toMatch(/^[0-9A-F]{16}$/)
      expect(response.headers.get('x-amz-id-2'), what).toBeTruthy()
      ids.add(id!)
      if (expected >= 400 && init.method !== 'HEAD') {
        expect(body, what).toContain(`<RequestId>${id}</RequestId>`)
        expect(body, what).toContain(`<Resource>${path.split('?')[0]}</Resource>`)
        expect(body, what).toMatch(/<Code>[A-Za-z]+<\/Code><Message>[^<]+<\/Message>/)
      }
    }
    expect(ids.size).toBe(cases.length)
  })
})

describe('CORS', () => {
  it('a preflight of an allowed origin is answered with what it may send and for how long', async () => {
    const response = await request(`/files/${BLOB_KEY}`, {
      method: 'OPTIONS',
      headers: {
        origin: ALLOWED_ORIGIN,
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'range,if-none-match',
      },
    })
    expect(response.status).toBe(200)
    expect(Object.fromEntries(response.headers)).toMatchObject({
      'access-control-allow-origin': ALLOWED_ORIGIN,
      'access-control-allow-methods': 'GET, HEAD',
      'access-control-allow-headers': 'range,if-none-match',
      'access-control-max-age': '3000',
    })
    expect(response.headers.get('vary')).toMatch(/Origin/)
  })

  it('a read from an allowed origin exposes ETag, Content-Range, Content-Length and Content-Encoding', async () => {
    const response = await request(`/files/${BLOB_KEY}`, {
      headers: { origin: ALLOWED_ORIGIN, range: 'bytes=0-9' },
    })
    expect(response.status).toBe(206)
    await response.arrayBuffer()
    expect(response.headers.get('access-control-allow-origin')).toBe(ALLOWED_ORIGIN)
    const exposed = response.headers
      .get('access-control-expose-headers')!
      .split(',')
      .map((name) => name.trim().toLowerCase())
    expect(exposed).toEqual(
      expect.arrayContaining(['etag', 'content-range', 'content-length', 'content-encoding']),
    )
  })

  it('another origin, or a preflight for a write, gets no CORS grant', async () => {
    const other = await request(`/files/${BLOB_KEY}`, {
      method: 'OPTIONS',
      headers: { origin: 'https://elsewhere.example', 'access-control-request-method': 'GET' },
    })
    expect(other.status).toBe(403)
    expect(other.headers.get('access-control-allow-origin')).toBeNull()
    const write = await request(`/files/${BLOB_KEY}`, {
      method: 'OPTIONS',
      headers: { origin: ALLOWED_ORIGIN, 'access-control-request-method': 'PUT' },
    })
    expect(write.status).toBe(403)
    expect(write.headers.get('access-control-allow-methods')).toBeNull()
    const read = await request(`/files/${BLOB_KEY}`, {
      headers: { origin: 'https://elsewhere.example', range: 'bytes=0-0' },
    })
    await read.arrayBuffer()
    expect(read.headers.get('access-control-allow-origin')).toBeNull()
  })
})
