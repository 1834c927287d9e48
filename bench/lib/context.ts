/** Everything a case needs: the DataSource, a raw pg pool, the storages, a raw S3 client. */
import { createHash } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Readable } from 'node:stream'
import {
  DeleteObjectsCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { S3Storage } from '@attrstore/s3'
import { setStorage } from '@attrstore/typeorm'
import pg from 'pg'
import { DataSource } from 'typeorm'
import type { S3Connection } from './components.js'
import { MemoryStorage } from '@attrstore/core'
import {
  ENTITIES,
  FsEager,
  RAW_TABLE_SQL,
  RefsLarge,
  RefsSmall,
  S3Eager,
  S3Lazy,
} from './entities.js'

/** Connections per pool: two pools stay under PostgreSQL's default max_connections (100). */
export const POOL_SIZE = 40

export interface BenchContext {
  dataSource: DataSource
  /** Plain `pg`: the raw reference's database access. */
  pool: pg.Pool
  /** The raw reference's S3 client, configured as attrstore's is (checksums WHEN_REQUIRED on custom endpoints). */
  s3: S3Client
  s3conn: S3Connection
  s3Storage: S3Storage
  fsStorage: BytesFileSystemStorage
  /** Directory for the raw filesystem reference. */
  rawDir: string
  close(): Promise<void>
}

export function rawS3Client(connection: S3Connection): S3Client {
  return new S3Client({
    region: connection.region,
    ...(connection.endpoint
      ? {
          endpoint: connection.endpoint,
          forcePathStyle: true,
          requestChecksumCalculation: 'WHEN_REQUIRED' as const,
          responseChecksumValidation: 'WHEN_REQUIRED' as const,
        }
      : {}),
    ...(connection.credentials ? { credentials: connection.credentials } : {}),
  })
}

export function s3StorageFor(connection: S3Connection, prefix: string): S3Storage {
  return new S3Storage({
    bucket: connection.bucket,
    prefix,
    ...(connection.endpoint ? { endpoint: connection.endpoint } : {}),
    region: connection.region,
    ...(connection.credentials ? { credentials: connection.credentials } : {}),
  })
}

export async function createContext(
  databaseUrl: string,
  connection: S3Connection,
): Promise<BenchContext> {
  const dataSource = new DataSource({
    type: 'postgres',
    url: databaseUrl,
    entities: ENTITIES,
    synchronize: true,
    extra: { max: POOL_SIZE },
  })
  const s3Storage = s3StorageFor(connection, 'attrstore')
  const fsRoot = await mkdtemp(path.join(tmpdir(), 'attrstore-bench-fs-'))
  const fsStorage = new BytesFileSystemStorage({ root: path.join(fsRoot, 'attrstore') })
  setStorage(dataSource, S3Eager, 'data', s3Storage)
  setStorage(dataSource, S3Lazy, 'data', s3Storage)
  setStorage(dataSource, FsEager, 'data', fsStorage)
  // In memory: the reference checks are the database's work, measured without the network.
  setStorage(dataSource, RefsSmall, 'data', new MemoryStorage())
  setStorage(dataSource, RefsLarge, 'data', new MemoryStorage())
  await dataSource.initialize()
  const pool = new pg.Pool({ connectionString: databaseUrl, max: POOL_SIZE })
  pool.on('error', () => {}) // idle clients dropped when the server stops at the end
  await pool.query(RAW_TABLE_SQL)
  const s3 = rawS3Client(connection)
  return {
    dataSource,
    pool,
    s3,
    s3conn: connection,
    s3Storage,
    fsStorage,
    rawDir: path.join(fsRoot, 'raw'),
    async close() {
      await dataSource.destroy().catch(() => {})
      await pool.end().catch(() => {})
      s3.destroy()
      await rm(fsRoot, { recursive: true, force: true })
    },
  }
}

/** Bodies above this go as a multipart upload (fauxqs refuses requests over 11 MiB; AWS, PUTs over 5 GiB). */
export const RAW_PART_SIZE = 8 * 1024 * 1024

/**
 * The raw reference's upload, as an application without attrstore would do it: one
 * `PutObject` for a body that fits one part, else `@aws-sdk/lib-storage`'s `Upload` with
 * the same part size and queue as S3Storage's defaults.
 */
export async function rawPut(
  context: Pick<BenchContext, 's3' | 's3conn'>,
  key: string,
  body: Buffer | Readable,
): Promise<void> {
  const params = { Bucket: context.s3conn.bucket, Key: key, Body: body }
  if (Buffer.isBuffer(body) && body.length <= RAW_PART_SIZE) {
    await context.s3.send(new PutObjectCommand(params))
    return
  }
  await new Upload({ client: context.s3, params, partSize: RAW_PART_SIZE, queueSize: 4 }).done()
}

/** The raw reference's download, whole, as attrstore's eager load returns it. */
export async function rawGet(context: BenchContext, key: string): Promise<Buffer> {
  const response = await context.s3.send(
    new GetObjectCommand({ Bucket: context.s3conn.bucket, Key: key }),
  )
  const chunks: Buffer[] = []
  for await (const chunk of response.Body as Readable) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks)
}

/** Deletes every object under a prefix (between cases, to keep the server's memory flat). */
export async function emptyPrefix(context: BenchContext, prefix: string): Promise<void> {
  let token: string | undefined
  do {
    const page = await context.s3.send(
      new ListObjectsV2Command({
        Bucket: context.s3conn.bucket,
        Prefix: prefix,
        ContinuationToken: token,
      }),
    )
    const keys = (page.Contents ?? []).map((object) => ({ Key: object.Key! }))
    if (keys.length) {
      // One by one would be slow; DeleteObjects carries a checksum some servers refuse, so fall back.
      try {
        await context.s3.send(
          new DeleteObjectsCommand({ Bucket: context.s3conn.bucket, Delete: { Objects: keys } }),
        )
      } catch {
        const { DeleteObjectCommand } = await import('@aws-sdk/client-s3')
        for (const { Key } of keys)
          await context.s3.send(new DeleteObjectCommand({ Bucket: context.s3conn.bucket, Key }))
      }
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined
  } while (token)
}

/**
 * The raw reference's deletion of many objects: one `DeleteObjects` (with the `Content-MD5`
 * some servers demand and the SDK no longer sends), as an application would send it.
 */
export async function rawDeleteMany(context: BenchContext, keys: string[]): Promise<void> {
  const command = new DeleteObjectsCommand({
    Bucket: context.s3conn.bucket,
    Delete: { Objects: keys.map((Key) => ({ Key })), Quiet: true },
  })
  command.middlewareStack.add(
    (next) => async (args) => {
      const request = args.request as { headers: Record<string, string>; body?: unknown }
      if (typeof request.body === 'string' || request.body instanceof Uint8Array)
        request.headers['content-md5'] = createHash('md5').update(request.body).digest('base64')
      return next(args)
    },
    { step: 'build', name: 'benchContentMd5' },
  )
  await context.s3.send(command)
}
