/**
 * The gateway as S3 clients parse it, through the AWS SDK v3 (signed) and plain fetch
 * (anonymous, or what no SDK sends): listing order and pagination, tokens, ranges,
 * preconditions, ETags, overrides, errors, hidden things answered as absent, writes
 * refused; and attrstore's own S3Storage reading through it.
 */
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import {
  GetObjectCommand,
  ListObjectsV2Command,
  S3Client,
  type ListObjectsV2CommandOutput,
} from '@aws-sdk/client-s3'
import { MemoryStorage } from '@attrstore/core'
import { S3Storage } from '@attrstore/s3'
import { afterAll, describe, expect, it } from 'vitest'
import { createS3Gateway } from '../src/index.js'
import {
  BLOB_KEY,
  CREDENTIAL,
  HIDDEN_KEY,
  REGION,
  sha256Of,
  SPECIAL_KEYS,
  startGatewayWorld,
} from './gateway-fixture.js'

const world = await startGatewayWorld()
const sdk = (secretAccessKey = CREDENTIAL.secretAccessKey) =>
  new S3Client({
    endpoint: world.endpoint,
    region: REGION,
    forcePathStyle: true,
    credentials: { accessKeyId: CREDENTIAL.accessKeyId, secretAccessKey },
    maxAttempts: 1,
  })
const client = sdk()
afterAll(async () => {
  client.destroy()
  await world.stop()
})

async function listAll(bucket: string, extra: { Delimiter?: string; MaxKeys?: number } = {}) {
  const pages: ListObjectsV2CommandOutput[] = []
  let token: string | undefined
  do {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: bucket, ContinuationToken: token, ...extra }),
    )
    pages.push(page)
    token = page.NextContinuationToken
  } while (token)
  return pages
}

/** An error document's fields, for comparing two answers whatever their request ids. */
async function errorOf(response: Response) {
  const body = await response.text()
  const field = (name: string) => new RegExp(`<${name}>([^<]*)</${name}>`).exec(body)?.[1]
  expect(field('RequestId')).toBe(response.headers.get('x-amz-request-id'))
  return { status: response.status, code: field('Code'), message: field('Message') }
}

describe('listings (AWS SDK v3)', () => {
  for (const bucket of ['files', 'memory']) {
    it(`${bucket}: pages of 100 come in UTF-8 byte order, every key once, the hidden prefix absent`, async () => {
      const pages = await listAll(bucket, { MaxKeys: 100 })
      const keys = pages.flatMap((page) => (page.Contents ?? []).map((c) => c.Key!))
      expect(keys).toEqual(world.visibleKeys)
      expect(pages.length).toBe(Math.ceil(world.visibleKeys.length / 100))
      expect(pages.every((page) => (page.KeyCount ?? 0) <= 100)).toBe(true)
      const first = pages[0]!.Contents![0]!
      expect(first.StorageClass).toBe('STANDARD')
      expect(first.ETag).toBe(`"${sha256Of(world.contents.get(first.Key!)!)}"`)
    })

    it(`${bucket}: a delimiter rolls keys up into common prefixes, across pages`, async () => {
      const pages = await listAll(bucket, { Delimiter: '/', MaxKeys: 2 })
      expect(pages.flatMap((p) => (p.CommonPrefixes ?? []).map((c) => c.Prefix))).toEqual([
        'deep/',
        'dir/',
        'many/',
      ])
      expect(pages.flatMap((p) => (p.Contents ?? []).map((c) => c.Key))).toEqual([
        BLOB_KEY,
        'plain.txt',
      ])
    })
  }

  it('refuses a tampered or foreign continuation token with InvalidArgument', async () => {
    const [first] = await listAll('memory', { MaxKeys: 1000 }).then((pages) => pages)
    const token = first!.NextContinuationToken!
    expect(token).toBeDefined()
    const tampered = `${token.slice(0, 5)}${token[5] === 'A' ? 'B' : 'A'}${token.slice(6)}`
    await expect(
      client.send(new ListObjectsV2Command({ Bucket: 'memory', ContinuationToken: tampered })),
    ).rejects.toMatchObject({ name: 'InvalidArgument' })
    // Issued for another bucket's listing.
    await expect(
      client.send(new ListObjectsV2Command({ Bucket: 'files', ContinuationToken: token })),
    ).rejects.toMatchObject({ name: 'InvalidArgument' })
  })

  it('start-after starts after the key, in byte order', async () => {
    const page = await client.send(
      new ListObjectsV2Command({ Bucket: 'files', StartAfter: 'dir/plus+sign.txt', MaxKeys: 2 }),
    )
    const at = world.visibleKeys.indexOf('dir/plus+sign.txt')
    expect(page.Contents!.map((c) => c.Key)).toEqual(world.visibleKeys.slice(at + 1, at + 3))
  })
})

describe('objects (AWS SDK v3)', () => {
  it('the same bytes have the same ETag in both storages: the quoted SHA-256, and x-amz-meta-sha256', async () => {
    for (const bucket of ['files', 'memory']) {
      const answer = await client.send(
        new GetObjectCommand({ Bucket: bucket, Key: 'dir/hash#1.txt' }),
      )
      const bytes = Buffer.from(await answer.Body!.transformToByteArray())
      expect(bytes.equals(world.contents.get('dir/hash#1.txt')!)).toBe(true)
      expect(answer.ETag).toBe(`"${sha256Of(bytes)}"`)
      expect(answer.Metadata?.sha256).toBe(sha256Of(bytes))
    }
  })

  it('one range is a 206 with Content-Range; an unsatisfiable one is 416 InvalidRange', async () => {
    const blob = world.contents.get(BLOB_KEY)!
    const part = await client.send(
      new GetObjectCommand({ Bucket: 'files', Key: BLOB_KEY, Range: 'bytes=10-19' }),
    )
    expect(part.ContentRange).toBe(`bytes 10-19/${blob.length}`)
    expect(Buffer.from(await part.Body!.transformToByteArray()).equals(blob.subarray(10, 20))).toBe(
      true,
    )
    await expect(
      client.send(
        new GetObjectCommand({ Bucket: 'files', Key: BLOB_KEY, Range: `bytes=${blob.length}-` }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidRange', $metadata: { httpStatusCode: 416 } })
  })

  it('If-None-Match with the ETag is 304; If-Match with another is 412', async () => {
    const etag = `"${sha256Of(world.contents.get('plain.txt')!)}"`
    await expect(
      client.send(new GetObjectCommand({ Bucket: 'memory', Key: 'plain.txt', IfNoneMatch: etag })),
    ).rejects.toMatchObject({ $metadata: { httpStatusCode: 304 } })
    await expect(
      client.send(new GetObjectCommand({ Bucket: 'memory', Key: 'plain.txt', IfMatch: '"other"' })),
    ).rejects.toMatchObject({ name: 'PreconditionFailed', $metadata: { httpStatusCode: 412 } })
  })

  it('response-* overrides apply to signed requests', async () => {
    const answer = await client.send(
      new GetObjectCommand({
        Bucket: 'memory',
        Key: 'plain.txt',
        ResponseContentDisposition: 'attachment; filename="x.txt"',
        ResponseContentType: 'text/x-test',
      }),
    )
    expect(answer.ContentDisposition).toBe('attachment; filename="x.txt"')
    expect(answer.ContentType).toBe('text/x-test')
  })

  it('a wrong secret is SignatureDoesNotMatch, an unknown key InvalidAccessKeyId', async () => {
    const wrong = sdk('wrong')
    await expect(
      wrong.send(new GetObjectCommand({ Bucket: 'files', Key: 'plain.txt' })),
    ).rejects.toMatchObject({
      name: 'SignatureDoesNotMatch',
    })
    wrong.destroy()
    const unknown = new S3Client({
      endpoint: world.endpoint,
      region: REGION,
      forcePathStyle: true,
      credentials: { accessKeyId: 'NOBODY', secretAccessKey: 'x' },
      maxAttempts: 1,
    })
    await expect(unknown.send(new ListObjectsV2Command({ Bucket: 'files' }))).rejects.toMatchObject(
      {
        name: 'InvalidAccessKeyId',
      },
    )
    unknown.destroy()
  })
})

describe('plain HTTP', () => {
  it('refuses unsigned requests without anonymous access', async () => {
    const answer = await fetch(`${world.endpoint}/files/plain.txt`)
    expect(await errorOf(answer)).toMatchObject({ status: 403, code: 'AccessDenied' })
  })

  it('answers a hidden key, a hidden bucket and a missing one exactly alike', async () => {
    const gateway = createS3Gateway({
      buckets: world.storages,
      anonymous: true,
      hidden: ['files/private/'],
    })
    const server = http.createServer(gateway).listen(0, '127.0.0.1')
    await new Promise((resolve) => server.once('listening', resolve))
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
    try {
      const hidden = await errorOf(await fetch(`${base}/files/${HIDDEN_KEY}`))
      const missing = await errorOf(await fetch(`${base}/files/private/missing.txt`))
      expect(hidden).toEqual({ status: 404, code: 'NoSuchKey', message: missing.message })
      expect(missing.code).toBe('NoSuchKey')
      // Through the other bucket, where nothing hides it, the same key is served.
      expect((await fetch(`${base}/memory/${HIDDEN_KEY}`)).status).toBe(200)
      // attrstore's reserved prefix is hidden everywhere.
      expect((await errorOf(await fetch(`${base}/memory/.attrstore/sha256/plain.txt`))).code).toBe(
        'NoSuchKey',
      )
      // response-* overrides are for signed requests only, as in S3.
      expect(
        await errorOf(await fetch(`${base}/memory/plain.txt?response-content-type=text%2Fhtml`)),
      ).toMatchObject({ status: 400, code: 'InvalidRequest' })
      expect((await errorOf(await fetch(`${base}/nothing-here/x`))).code).toBe('NoSuchBucket')
      const listing = await (await fetch(`${base}/files?list-type=2&prefix=private/`)).text()
      expect(listing).toContain('<KeyCount>0</KeyCount>')
      expect(listing).toContain('xmlns="http://s3.amazonaws.com/doc/2006-03-01/"')
      // Writes are refused, whatever they address; the rest is NotImplemented.
      for (const [method, path] of [
        ['PUT', '/files/new.txt'],
        ['DELETE', '/files/plain.txt'],
        ['POST', '/files?delete'],
        ['PUT', '/nothing-here'],
      ] as const)
        expect(
          await errorOf(
            await fetch(`${base}${path}`, { method, body: method === 'DELETE' ? null : 'x' }),
          ),
        ).toMatchObject({
          status: 403,
          code: 'AccessDenied',
        })
      expect(await errorOf(await fetch(`${base}/files?policy`))).toMatchObject({
        status: 501,
        code: 'NotImplemented',
      })
      expect((await fetch(`${base}/files?location`)).status).toBe(200)
      expect((await fetch(`${base}/files?acl`)).status).toBe(200)
      const head = await fetch(`${base}/files`, { method: 'HEAD' })
      expect(head.headers.get('x-amz-bucket-region')).toBe('us-east-1')
    } finally {
      server.closeAllConnections()
      server.close()
      await gateway.close()
    }
  })
})

describe('attrstore reading attrstore: S3Storage through the gateway', () => {
  it('lists and reads every object byte-identical, with the recorded SHA-256', async () => {
    const storage = new S3Storage({
      bucket: 'files',
      endpoint: world.endpoint,
      region: REGION,
      credentials: CREDENTIAL,
    })
    try {
      const listed: string[] = []
      for await (const object of storage.list()) listed.push(object.key)
      expect(listed.sort()).toEqual([...world.visibleKeys].sort())
      for (const key of [...SPECIAL_KEYS, BLOB_KEY]) {
        const opened = await storage.open(key)
        const chunks: Buffer[] = []
        for await (const chunk of opened.stream) chunks.push(chunk as Buffer)
        expect({ key, sha256: sha256Of(Buffer.concat(chunks)) }).toEqual({
          key,
          sha256: sha256Of(world.contents.get(key)!),
        })
        expect(opened.sha256).toBe(sha256Of(world.contents.get(key)!))
      }
      expect(
        (await storage.read(BLOB_KEY, { range: { start: 5, end: 9 } })).equals(
          world.contents.get(BLOB_KEY)!.subarray(5, 10),
        ),
      ).toBe(true)
      expect(await storage.exists(HIDDEN_KEY)).toBe(false)
    } finally {
      storage.destroy()
    }
  })
})

it('MemoryStorage objects without a recorded hash still get the content ETag', async () => {
  // A storage reporting no SHA-256 (as a foreign import would): the gateway hashes once.
  const bare = new MemoryStorage()
  const { key } = await bare.write(Buffer.from('no recorded hash'))
  const stat = bare.stat.bind(bare)
  bare.stat = async (k) => {
    const { sha256: _ignored, ...rest } = await stat(k)
    return rest
  }
  const gateway = createS3Gateway({ buckets: { bare }, anonymous: true })
  const server = http.createServer(gateway).listen(0, '127.0.0.1')
  await new Promise((resolve) => server.once('listening', resolve))
  try {
    const answer = await fetch(
      `http://127.0.0.1:${(server.address() as AddressInfo).port}/bare/${key}`,
      { method: 'HEAD' },
    )
    expect(answer.headers.get('etag')).toBe(`"${sha256Of(Buffer.from('no recorded hash'))}"`)
  } finally {
    server.closeAllConnections()
    server.close()
    await gateway.close()
  }
})
