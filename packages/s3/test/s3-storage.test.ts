import { createHash, randomUUID } from 'node:crypto'
import http from 'node:http'
import { Readable } from 'node:stream'
import {
  DeleteObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3'
import {
  ConfigurationError,
  IntegrityError,
  type AttributeStorage,
  KeyConflictError,
  StorageUnavailableError,
} from '@attrstore/core'
import { failingBody, generateBody, MiB } from '@attrstore/core/conformance'
import { S3Storage, type S3StorageOptions } from '@attrstore/s3'
import { startS3, type TestS3 } from '@attrstore/testing'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { connection } from './support.js'

/** Records the commands a client sends and, optionally, the headers of each request. */
function record(client: S3Client): {
  commands: string[]
  headers: Array<[string, Record<string, string>]>
} {
  const log = { commands: [] as string[], headers: [] as Array<[string, Record<string, string>]> }
  client.middlewareStack.add(
    (next, context) => async (args) => {
      log.commands.push(context.commandName ?? '?')
      return next(args)
    },
    // Outermost, whatever is added after it: a command refused by an inner middleware is
    // still recorded.
    { step: 'initialize', name: 'testRecordCommands', priority: 'high' },
  )
  client.middlewareStack.add(
    (next, context) => async (args) => {
      const request = args.request as { headers: Record<string, string> }
      log.headers.push([context.commandName ?? '?', { ...request.headers }])
      return next(args)
    },
    { step: 'finalizeRequest', name: 'testRecordHeaders', priority: 'low' },
  )
  return log
}

/** Makes the client fail one command as a server that does not implement it would. */
function refuse(
  client: S3Client,
  commandName: string,
  code = 'NotImplemented',
  status = 501,
): { refused: number } {
  const counter = { refused: 0 }
  client.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === commandName) {
        counter.refused++
        throw Object.assign(new Error(`${code} (injected)`), {
          name: code,
          Code: code,
          $fault: 'server',
          $metadata: { httpStatusCode: status, attempts: 1 },
        })
      }
      return next(args)
    },
    { step: 'initialize', name: `testRefuse${commandName}` },
  )
  return counter
}

const body = (size: number) => generateBody(size, 256 * 1024)

/** `size` bytes that differ from page to page. */
function patterned(size: number): Buffer {
  const bytes = Buffer.alloc(size)
  for (let i = 0; i + 4 <= size; i += 4096) bytes.writeUInt32LE(i, i)
  return bytes
}

/** A stream of `bytes` in 256 KiB chunks. */
const inChunks = (bytes: Buffer): Readable =>
  Readable.from(
    Array.from({ length: Math.ceil(bytes.length / (256 * 1024)) }, (_, i) =>
      bytes.subarray(i * 256 * 1024, (i + 1) * 256 * 1024),
    ),
  )

/** What a 12 MiB upload in 5 MiB parts sends. */
const IN_THREE_PARTS = [
  'CreateMultipartUploadCommand',
  'UploadPartCommand',
  'UploadPartCommand',
  'UploadPartCommand',
  'CompleteMultipartUploadCommand',
]

describe('S3Storage on fauxqs', () => {
  let s3: TestS3
  let raw: S3Client
  const storages: S3Storage[] = []
  const make = (options: Partial<S3StorageOptions> = {}): S3Storage => {
    const storage = new S3Storage({ ...connection(s3), prefix: `t-${randomUUID()}`, ...options })
    storages.push(storage)
    return storage
  }
  const head = (storage: S3Storage, reference: string) =>
    raw.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: storage.locate(reference).key }))
  const keysUnder = async (storage: S3Storage): Promise<string[]> => {
    const page = await raw.send(
      new ListObjectsV2Command({ Bucket: s3.bucket, Prefix: `${storage.prefix}/` }),
    )
    return (page.Contents ?? []).map((entry) => entry.Key!)
  }

  /** The ids of the multipart uploads a client starts; `afterPart` runs after each part sent. */
  const uploadIdsOf = (client: S3Client, afterPart?: () => void): string[] => {
    const ids: string[] = []
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args)
        if (context.commandName === 'CreateMultipartUploadCommand') {
          ids.push((result.output as { UploadId: string }).UploadId)
        }
        if (context.commandName === 'UploadPartCommand') afterPart?.()
        return result
      },
      { step: 'initialize', name: 'testUploadIds' },
    )
    return ids
  }
  /** After a failed multipart write: its one upload is gone from the server, no object stays. */
  const expectNothingLeft = async (storage: S3Storage, key: string, uploadIds: string[]) => {
    expect(uploadIds).toHaveLength(1)
    // A part sent to an aborted upload is refused.
    await expect(
      raw.send(
        new UploadPartCommand({
          Bucket: s3.bucket,
          Key: storage.locate(key).key,
          UploadId: uploadIds[0],
          PartNumber: 9,
          Body: Buffer.from('x'),
        }),
      ),
    ).rejects.toMatchObject({ name: 'NoSuchUpload' })
    expect(await keysUnder(storage)).toEqual([])
  }

  beforeAll(async () => {
    s3 = await startS3({ engine: 'fauxqs' })
    raw = new S3Client(s3.clientConfig)
    // Whether the server honours If-None-Match is probed once per process and server
    // (two PutObjects, two DeleteObjects), by whichever storage writes first. Pay it here,
    // so that no test's command count depends on the order the tests run in.
    const first = new S3Storage({ ...connection(s3) })
    await first.probe()
    first.destroy()
  })
  afterAll(async () => {
    for (const storage of storages) storage.destroy()
    raw?.destroy()
    await s3?.stop()
  })

  it('probes the server: fauxqs ignores If-None-Match, so writes are checked with HEAD', async () => {
    expect(await make().probe()).toEqual({ conditionalWrites: false, versioning: false })
  })

  it('records the SHA-256 and upload parameters on a one-part body, in one PutObject', async () => {
    const storage = make({
      uploadParameters: ({ key, contentType }) => ({
        ContentDisposition: `attachment; filename="${key.split('/').pop()}"`,
        CacheControl: 'max-age=60',
        Metadata: { origin: 'test', sha256: 'forged' },
        ...(contentType ? {} : { ContentType: 'text/plain' }),
      }),
    })
    const log = record(storage.client)
    const written = await storage.write('hello', { context: { fileName: 'x.txt' } })
    const stored = await head(storage, written.key)
    expect(stored.Metadata).toEqual({ origin: 'test', sha256: written.sha256 })
    expect(stored.ContentType).toBe('text/plain')
    expect(stored.CacheControl).toBe('max-age=60')
    expect(stored.ContentDisposition).toMatch(/^attachment/)
    expect(log.commands).toEqual(['PutObjectCommand'])
    const [, headers] = log.headers.find(([name]) => name === 'PutObjectCommand')!
    expect(headers['x-amz-content-sha256']).toBe(written.sha256)
  })

  it('a default random key costs one PutObject and no HeadObject; other keys are still checked', async () => {
    const storage = make()
    const log = record(storage.client)
    const written = await storage.write(Buffer.alloc(MiB, 1))
    expect(log.commands).toEqual(['PutObjectCommand'])
    expect((await storage.stat(written.key)).sha256).toBe(written.sha256)

    // A key generator of the user's, or a newKey() override: HEAD under the lock, and a
    // key that exists is refused (fauxqs would overwrite it).
    const key = `t/${randomUUID()}`
    class Named extends S3Storage {
      override newKey(): string {
        return `${key}-named`
      }
    }
    const named = new Named({ ...connection(s3), prefix: storage.prefix })
    storages.push(named)
    for (const custom of [make({ prefix: storage.prefix, keyGenerator: () => key }), named]) {
      const customLog = record(custom.client)
      await custom.write('first')
      expect(customLog.commands).toEqual(['HeadObjectCommand', 'PutObjectCommand'])
      await expect(custom.write('second')).rejects.toBeInstanceOf(KeyConflictError)
      expect(customLog.commands.filter((name) => name === 'PutObjectCommand')).toHaveLength(1)
    }
    expect(String(await storage.read(key))).toBe('first')
    expect(String(await storage.read(`${key}-named`))).toBe('first')
  })

  it('streams a body larger than a part as multipart, then records its SHA-256 in a hash record, no copy', async () => {
    const storage = make()
    const log = record(storage.client)
    const source = body(12 * MiB)
    const written = await storage.write(source.stream)
    const sent = [...log.commands]
    expect(written.sha256).toBe(source.produced().sha256)
    // The object is flagged at creation; its hash is in the record, not in its metadata.
    expect((await head(storage, written.key)).Metadata).toEqual({ 'sha256-record': '1' })
    const recordKey = `${storage.prefix}/.attrstore/sha256/${written.key}`
    const recorded = await raw.send(new HeadObjectCommand({ Bucket: s3.bucket, Key: recordKey }))
    expect(recorded.Metadata?.sha256).toBe(written.sha256)
    expect((await storage.stat(written.key)).sha256).toBe(written.sha256)
    expect(sent).toEqual([
      'GetBucketVersioningCommand',
      ...IN_THREE_PARTS,
      // The record: an empty object.
      'PutObjectCommand',
    ])
    const back = await storage.read(written.key, { verify: true })
    expect(back.length).toBe(12 * MiB)
    expect(await storage.verify(written.key)).toMatchObject({
      verified: true,
      recordedSha256: written.sha256,
    })
    // Listings skip the record; a delete takes it along, in one request.
    const listed: string[] = []
    for await (const entry of storage.list()) listed.push(entry.key)
    expect(listed).toEqual([written.key])
    log.commands.length = 0
    await storage.delete(written.key)
    expect(log.commands).toEqual(['DeleteObjectsCommand'])
    expect(await keysUnder(storage)).toEqual([])
  })

  it('a hash record not written for the object under its key is not trusted', async () => {
    const storage = make()
    const written = await storage.write(body(12 * MiB).stream)
    const recordKey = `${storage.prefix}/.attrstore/sha256/${written.key}`
    const { Metadata } = await raw.send(
      new HeadObjectCommand({ Bucket: s3.bucket, Key: recordKey }),
    )
    // The same record, naming another object (as one left by a deleted object would).
    await raw.send(
      new PutObjectCommand({
        Bucket: s3.bucket,
        Key: recordKey,
        Body: '',
        Metadata: { ...Metadata, 'object-etag': 'another-object-1' },
      }),
    )
    expect((await storage.stat(written.key)).sha256).toBeUndefined()
    expect((await storage.verify(written.key)).verified).toBe(false)
    // With no record at all (the writer died before it): no hash either, and no error.
    await raw.send(new DeleteObjectCommand({ Bucket: s3.bucket, Key: recordKey }))
    expect((await storage.stat(written.key)).sha256).toBeUndefined()
    const opened = await storage.open(written.key)
    opened.stream.destroy()
    expect(opened.sha256).toBeUndefined()
  })

  it('a bucket that will not say whether it is versioned gets the copy, and is asked once', async () => {
    const storage = make()
    const log = record(storage.client)
    const refusal = refuse(storage.client, 'GetBucketVersioningCommand', 'AccessDenied', 403)
    const source = body(12 * MiB)
    const written = await storage.write(source.stream)
    expect(log.commands.filter((name) => name === 'CopyObjectCommand')).toHaveLength(1)
    expect((await storage.stat(written.key)).sha256).toBe(source.produced().sha256)
    await storage.delete(written.key)
    await storage.deleteMany(['a', 'b'])
    expect(refusal.refused).toBe(1)
    expect(await keysUnder(storage)).toEqual([])
  })

  it('a failed hash record write leaves no object and no parts', async () => {
    const key = `t/${randomUUID()}`
    const storage = make({ keyGenerator: () => key })
    const uploadIds = uploadIdsOf(storage.client)
    const refused: string[] = []
    storage.client.middlewareStack.add(
      (next) => async (args) => {
        const input = args.input as { Key?: string }
        if (input.Key?.includes('/.attrstore/sha256/')) {
          refused.push(input.Key)
          throw Object.assign(new Error('AccessDenied (injected)'), {
            name: 'AccessDenied',
            $fault: 'client',
            $metadata: { httpStatusCode: 403, attempts: 1 },
          })
        }
        return next(args)
      },
      { step: 'initialize', name: 'testRefuseHashRecord' },
    )
    await expect(storage.write(body(12 * MiB).stream)).rejects.toThrow(/Access denied/)
    expect(refused).toHaveLength(1)
    await expectNothingLeft(storage, key, uploadIds)
  })

  it('a stream whose SHA-256 is given to write() records it without a copy', async () => {
    const storage = make()
    const log = record(storage.client)
    const bytes = patterned(12 * MiB)
    const sha256 = createHash('sha256').update(bytes).digest('hex')
    const written = await storage.write(inChunks(bytes), { sha256: sha256.toUpperCase() })
    const sent = [...log.commands]
    expect(written.sha256).toBe(sha256)
    expect(sent).toEqual(IN_THREE_PARTS)
    expect((await storage.stat(written.key)).sha256).toBe(sha256)
    expect((await storage.verify(written.key)).verified).toBe(true)
  })

  it('a stream that does not match the SHA-256 given to write() leaves no parts and no object', async () => {
    const key = `t/${randomUUID()}`
    const storage = make({ keyGenerator: () => key })
    const uploadIds = uploadIdsOf(storage.client)
    const error = await storage
      .write(body(12 * MiB).stream, { sha256: '0'.repeat(64) })
      .catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(IntegrityError)
    await expectNothingLeft(storage, key, uploadIds)
  })

  it('sends bytes larger than a part in parts, their SHA-256 in CreateMultipartUpload, no copy', async () => {
    const storage = make()
    const log = record(storage.client)
    // fauxqs refuses single requests over about 11 MiB (HTTP 413).
    const bytes = patterned(12 * MiB)
    const written = await storage.write(bytes)
    const sent = [...log.commands]
    expect(written.sha256).toBe(createHash('sha256').update(bytes).digest('hex'))
    expect(sent).toEqual(IN_THREE_PARTS)
    const [, created] = log.headers.find(([name]) => name === 'CreateMultipartUploadCommand')!
    expect(created['x-amz-meta-sha256']).toBe(written.sha256)
    expect((await storage.stat(written.key)).sha256).toBe(written.sha256)
    expect((await storage.read(written.key, { verify: true })).equals(bytes)).toBe(true)
  })

  it('multipart: false sends bytes larger than a part as one PutObject', async () => {
    const storage = make({ multipart: false })
    const log = record(storage.client)
    const bytes = Buffer.alloc(7 * MiB, 3)
    const written = await storage.write(bytes)
    expect(log.commands).toEqual(['PutObjectCommand'])
    expect((await storage.stat(written.key)).sha256).toBe(written.sha256)
  })

  it('an abort while bytes go in parts rejects and leaves no parts and no object', async () => {
    const key = `t/${randomUUID()}`
    const storage = make({ keyGenerator: () => key, queueSize: 1 })
    const controller = new AbortController()
    const uploadIds = uploadIdsOf(storage.client, () => controller.abort())
    await expect(
      storage.write(Buffer.alloc(16 * MiB, 5), { signal: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' })
    await expectNothingLeft(storage, key, uploadIds)
  })

  it('past maxCopyObjectSize, records the SHA-256 with a server-side multipart copy', async () => {
    class SmallCopies extends S3Storage {
      protected override maxCopyObjectSize = 6 * MiB
      protected override copyPartSize = 5 * MiB
    }
    // Versioned as far as the storage knows: the copy, not a hash record, records the hash.
    const storage = new SmallCopies({
      ...connection(s3),
      prefix: `t-${randomUUID()}`,
      versioning: true,
    })
    storages.push(storage)
    const log = record(storage.client)
    const source = body(12 * MiB)
    const written = await storage.write(source.stream)
    expect(log.commands.filter((name) => name === 'UploadPartCopyCommand')).toHaveLength(3)
    expect((await storage.stat(written.key)).sha256).toBe(source.produced().sha256)
    expect((await storage.verify(written.key)).verified).toBe(true)
  })

  it('a stream goes in parts through queueSize buffers, reused from part to part', async () => {
    const storage = make({ queueSize: 2 })
    const sent: Array<{ number: number; body: Uint8Array }> = []
    storage.client.middlewareStack.add(
      (next, context) => async (args) => {
        if (context.commandName === 'UploadPartCommand') {
          const input = args.input as { PartNumber: number; Body: Uint8Array }
          sent.push({ number: input.PartNumber, body: input.Body })
        }
        return next(args)
      },
      { step: 'initialize', name: 'testRecordParts' },
    )
    const source = body(8 * 5 * MiB + 123)
    const written = await storage.write(source.stream)
    expect(written.sha256).toBe(source.produced().sha256)
    expect(sent.map((part) => part.number).sort((a, b) => a - b)).toEqual([
      1, 2, 3, 4, 5, 6, 7, 8, 9,
    ])
    expect(sent.map((part) => part.body.length).sort((a, b) => a - b)).toEqual([
      123,
      ...Array<number>(8).fill(5 * MiB),
    ])
    // Nine parts, two buffers: each part's memory is the pool's, not a new allocation.
    expect(new Set(sent.map((part) => part.body.buffer)).size).toBe(2)
    const back = await storage.read(written.key, { verify: true })
    expect(back.length).toBe(8 * 5 * MiB + 123)
  })

  it('a body failing mid-multipart rejects with its own error and leaves no parts and no object', async () => {
    const key = `t/${randomUUID()}`
    const failing = make({ keyGenerator: () => key })
    const uploadIds = uploadIdsOf(failing.client)
    // 12 MiB then an error: two parts are in flight or done when the body breaks.
    await expect(failing.write(failingBody(48, 256 * 1024))).rejects.toThrow(/failed on purpose/)
    await expectNothingLeft(failing, key, uploadIds)
  })

  it('an abort mid-multipart rejects and leaves no parts and no object', async () => {
    const key = `t/${randomUUID()}`
    const storage = make({ keyGenerator: () => key })
    const uploadIds = uploadIdsOf(storage.client)
    const controller = new AbortController()
    const source = (async function* () {
      for (let i = 0; i < 200; i++) {
        if (i === 60) controller.abort()
        yield Buffer.alloc(256 * 1024, i)
        await new Promise((resolve) => setImmediate(resolve))
      }
    })()
    await expect(storage.write(source, { signal: controller.signal })).rejects.toThrow()
    await expectNothingLeft(storage, key, uploadIds)
  })

  it('multipart: false sends a large streamed body as one PUT, spooled, with its SHA-256', async () => {
    const storage = make({ multipart: false })
    const log = record(storage.client)
    const source = body(7 * MiB)
    const written = await storage.write(source.stream)
    expect(log.commands.filter((name) => name.includes('Multipart'))).toEqual([])
    expect(log.commands.filter((name) => name === 'PutObjectCommand')).toHaveLength(1)
    expect((await head(storage, written.key)).Metadata?.sha256).toBe(source.produced().sha256)
    expect((await storage.read(written.key)).length).toBe(7 * MiB)
  })

  it('batch deletes send Content-MD5, and are idempotent', async () => {
    const storage = make()
    const log = record(storage.client)
    const keys = await Promise.all(
      ['a', 'b', 'c'].map((text) => storage.write(text).then((w) => w.key)),
    )
    await storage.deleteMany([...keys, 'never/existed'])
    await storage.deleteMany(keys)
    const deletes = log.headers.filter(([name]) => name === 'DeleteObjectsCommand')
    expect(deletes).toHaveLength(2)
    for (const [, headers] of deletes)
      expect(headers['content-md5']).toMatch(/^[A-Za-z0-9+/]{22}==$/)
    expect(await keysUnder(storage)).toEqual([])
  })

  it('a server refusing DeleteObjects gets single deletes, then and after', async () => {
    const storage = make()
    const keys = await Promise.all(['a', 'b'].map((text) => storage.write(text).then((w) => w.key)))
    const log = record(storage.client)
    const refusal = refuse(storage.client, 'DeleteObjectsCommand')
    await storage.deleteMany(keys)
    await storage.deleteMany(keys)
    expect(refusal.refused).toBe(1)
    // Once per storage: whether deletes take the objects' hash records along (unversioned).
    expect(log.commands[0]).toBe('GetBucketVersioningCommand')
    // Each key alone, twice: the object, then its hash record (none here: no error either).
    expect(log.commands.slice(1)).toEqual([
      'DeleteObjectsCommand',
      ...Array<string>(8).fill('DeleteObjectCommand'),
    ])
    expect(await keysUnder(storage)).toEqual([])
  })

  it('a refused DeleteObjects is remembered by that storage only, not by the process', async () => {
    const refusing = make()
    refuse(refusing.client, 'DeleteObjectsCommand')
    await refusing.deleteMany(['a', 'b'])
    // Another storage on the same server, bucket and prefix still tries a batch.
    const other = make({ prefix: refusing.prefix })
    const log = record(other.client)
    await other.deleteMany(['a', 'b'])
    expect(log.commands).toEqual(['GetBucketVersioningCommand', 'DeleteObjectsCommand'])
  })

  it('autoDelete: false is the contract property for the ORM layer; delete() still deletes', async () => {
    expect(make().autoDelete).toBe(true)
    const keeping = make({ autoDelete: false })
    const contract: AttributeStorage = keeping
    expect(contract.autoDelete).toBe(false)
    const viaUrl = S3Storage.fromUrl('s3+http://127.0.0.1:1/files/p', { autoDelete: false })
    expect(viaUrl.autoDelete).toBe(false)
    viaUrl.destroy()
    const one = await keeping.write('one')
    const many = await Promise.all(['a', 'b'].map((text) => keeping.write(text)))
    await keeping.delete(one.key)
    await keeping.deleteMany(many.map((written) => written.key))
    expect(await keysUnder(keeping)).toEqual([])
  })

  it('with conditionalWrites: true, sends If-None-Match and maps 412 to KeyConflictError', async () => {
    // fauxqs ignores If-None-Match: a server that honours it is emulated by refusing the
    // conditional PutObject of an existing key with 412, as AWS and MinIO do.
    const key = `t/${randomUUID()}`
    const storage = make({ conditionalWrites: true, keyGenerator: () => key })
    const log = record(storage.client)
    storage.client.middlewareStack.add(
      (next, context) => async (args) => {
        const input = args.input as { IfNoneMatch?: string; Key: string }
        if (context.commandName === 'PutObjectCommand' && input.IfNoneMatch === '*') {
          const exists = await raw
            .send(new HeadObjectCommand({ Bucket: s3.bucket, Key: input.Key }))
            .then(
              () => true,
              () => false,
            )
          if (exists) {
            throw Object.assign(
              new Error('At least one of the pre-conditions you specified did not hold'),
              {
                name: 'PreconditionFailed',
                $fault: 'client',
                $metadata: { httpStatusCode: 412 },
              },
            )
          }
        }
        return next(args)
      },
      { step: 'initialize', name: 'testConditional' },
    )
    await storage.write('first')
    await expect(storage.write('second')).rejects.toBeInstanceOf(KeyConflictError)
    expect(String(await storage.read(key))).toBe('first')
    expect(log.commands.filter((name) => name === 'HeadObjectCommand')).toEqual([])
  })

  it('cleanStaleWrites says when the server cannot list uploads', async () => {
    expect(await make().cleanStaleWrites({ olderThanMs: 0 })).toMatchObject({
      supported: false,
      found: 0,
    })
  })

  it('a missing bucket is a ConfigurationError naming it, for every operation', async () => {
    const storage = make({ bucket: 'no-such-bucket-here' })
    for (const attempt of [
      () => storage.write('x'),
      () => storage.read('k'),
      () => storage.stat('k'),
      () => storage.exists('k'),
      async () => {
        for await (const entry of storage.list()) void entry
      },
    ]) {
      const error = await attempt().then(
        () => undefined,
        (caught: unknown) => caught,
      )
      expect(error).toBeInstanceOf(ConfigurationError)
      expect((error as Error).message).toMatch(/bucket "no-such-bucket-here" does not exist/)
    }
  })
})

describe('S3Storage errors without a server', () => {
  it('an unreachable endpoint is StorageUnavailableError after the retries, naming the endpoint', async () => {
    const server = http.createServer()
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    await new Promise((resolve) => server.close(resolve))
    const storage = new S3Storage({
      bucket: 'bucket-a',
      endpoint: `http://127.0.0.1:${port}`,
      credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
      maxAttempts: 2,
      env: {},
    })
    const error = await storage.stat('k').catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(StorageUnavailableError)
    expect((error as Error).message).toMatch(
      new RegExp(
        `Cannot reach the S3 endpoint http://127.0.0.1:${port}.*after 2 attempts: ECONNREFUSED`,
      ),
    )
    storage.destroy()
  })

  it('missing credentials are a ConfigurationError naming the variables to set', async () => {
    const saved = { ...process.env }
    for (const name of Object.keys(process.env))
      if (name.startsWith('AWS_')) delete process.env[name]
    Object.assign(process.env, {
      AWS_EC2_METADATA_DISABLED: 'true',
      AWS_CONFIG_FILE: '/nonexistent/config',
      AWS_SHARED_CREDENTIALS_FILE: '/nonexistent/credentials',
    })
    try {
      const storage = new S3Storage({
        bucket: 'bucket-a',
        endpoint: 'http://127.0.0.1:9',
        maxAttempts: 1,
      })
      const error = await storage.read('k').catch((caught: unknown) => caught)
      expect(error).toBeInstanceOf(ConfigurationError)
      expect((error as Error).message).toMatch(
        /No AWS credentials.*AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY.*AWS_PROFILE.*AWS_SKIP_SIGNATURE/,
      )
      storage.destroy()
    } finally {
      for (const name of Object.keys(process.env)) if (!(name in saved)) delete process.env[name]
      Object.assign(process.env, saved)
    }
  })

  it('anonymous access sends no Authorization header and looks for no credentials', async () => {
    const seen: Array<string | undefined> = []
    const server = http.createServer((request, response) => {
      seen.push(request.headers.authorization)
      request.resume()
      request.on('end', () => {
        response.writeHead(200, {
          'content-length': '2',
          'content-type': 'application/octet-stream',
        })
        response.end('ok')
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    const port = (server.address() as { port: number }).port
    try {
      const storage = new S3Storage({
        bucket: 'public-bucket',
        endpoint: `http://127.0.0.1:${port}`,
        env: { AWS_SKIP_SIGNATURE: 'true' },
        maxAttempts: 1,
      })
      expect(String(await storage.read('k'))).toBe('ok')
      expect(seen).toEqual([undefined])
      storage.destroy()
    } finally {
      server.close()
    }
  })
})

describe('S3Storage on s3rver', () => {
  let s3: TestS3
  beforeAll(async () => {
    s3 = await startS3({ engine: 's3rver' })
  })
  afterAll(async () => {
    await s3?.stop()
  })

  it('catches a stored aws-chunked framing (a client with the SDK default checksums) and keeps nothing', async () => {
    // A client of the user's own, with the SDK defaults: stream bodies go as aws-chunked,
    // which s3rver stores verbatim. Only multipart: false sends a stream body.
    const client = new S3Client({
      endpoint: s3.endpoint,
      region: s3.region,
      credentials: s3.credentials,
      forcePathStyle: true,
    })
    const key = `chunked/${randomUUID()}`
    const storage = new S3Storage({
      bucket: s3.bucket,
      client,
      multipart: false,
      keyGenerator: () => key,
    })
    const error = await storage.write(body(6 * MiB).stream).catch((caught: unknown) => caught)
    expect(error).toBeInstanceOf(IntegrityError)
    expect((error as Error).message).toMatch(/aws-chunked framing.*WHEN_REQUIRED/)
    expect(await storage.exists(key)).toBe(false)
    // Bodies sent as bytes are never framed: intact with the same client.
    const small = await new S3Storage({ bucket: s3.bucket, client }).write(
      Readable.from([Buffer.from('intact')]),
    )
    expect(String(await new S3Storage({ bucket: s3.bucket, client }).read(small.key))).toBe(
      'intact',
    )
    client.destroy()
  })

  it('cleanStaleWrites says when the server cannot list uploads', async () => {
    const storage = new S3Storage({ ...connection(s3) })
    expect(await storage.cleanStaleWrites({ olderThanMs: 0 })).toMatchObject({ supported: false })
    storage.destroy()
  })
})
