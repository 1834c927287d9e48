/**
 * Streams one large body up and back in a process of its own, so that its peak RSS is the
 * transfer's alone: `tsx stream.ts <attrstore|raw> <bytes>`, with BENCH_DATABASE_URL and
 * BENCH_S3 (JSON) set by run.ts. Prints one JSON line.
 *
 * - attrstore: `repository.save({ data: readable })`, then a lazy load and `data.stream()`;
 * - raw: lib-storage `Upload` of the stream (its default part size and queue, which are
 *   S3Storage's), then `GetObject`, consumed as a stream;
 * - source: the body generated and consumed, twice, nothing sent (what the body's source
 *   alone grows the RSS by).
 *
 * `baselineRss`: the RSS once everything is loaded and connected, just before the transfer.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'
import { DeleteObjectCommand, GetObjectCommand } from '@aws-sdk/client-s3'
import { Upload } from '@aws-sdk/lib-storage'
import { getStorageKey, setStorage, type StoredContent } from '@attrstore/typeorm'
import { DataSource } from 'typeorm'
import type { S3Connection } from './lib/components.js'
import { rawS3Client, s3StorageFor } from './lib/context.js'
import { ENTITIES, S3Lazy } from './lib/entities.js'

const [mode, sizeArgument] = process.argv.slice(2)
const size = Number(sizeArgument)
const connection = JSON.parse(process.env.BENCH_S3!) as S3Connection
const CHUNK = 1024 * 1024

/** `size` bytes, 1 MiB at a time, never all in memory; hashed as they are produced. */
function body(hash: ReturnType<typeof createHash>): Readable {
  const block = randomBytes(CHUNK)
  let sent = 0
  return Readable.from(
    (function* () {
      while (sent < size) {
        const chunk = Buffer.from(block.subarray(0, Math.min(CHUNK, size - sent)))
        chunk.writeUInt32BE(sent / CHUNK, 0) // no two chunks alike
        sent += chunk.length
        hash.update(chunk)
        yield chunk
      }
    })(),
    { objectMode: false },
  )
}

async function consume(stream: AsyncIterable<Buffer>): Promise<string> {
  const hash = createHash('sha256')
  for await (const chunk of stream) hash.update(chunk)
  return hash.digest('hex')
}

const sent = createHash('sha256')
let upMs: number
let downMs: number
let received: string
let baselineRss: number
/** attrstore only: the SHA-256 the storage recorded for the object, where `verify` reads it. */
let recordedSha256: string | undefined
if (mode === 'attrstore') {
  const dataSource = new DataSource({
    type: 'postgres',
    url: process.env.BENCH_DATABASE_URL!,
    entities: ENTITIES,
  })
  const storage = s3StorageFor(connection, 'stream')
  setStorage(dataSource, S3Lazy, 'data', storage)
  await dataSource.initialize()
  const repository = dataSource.getRepository(S3Lazy)
  baselineRss = process.memoryUsage().rss
  let started = performance.now()
  const saved = await repository.save(repository.create({ name: 'stream', data: body(sent) }))
  upMs = performance.now() - started
  recordedSha256 = (await storage.stat(getStorageKey(saved, 'data')!)).sha256
  started = performance.now()
  const loaded = await repository.findOneByOrFail({ id: saved.id })
  received = await consume((await (loaded.data as StoredContent).stream()) as AsyncIterable<Buffer>)
  downMs = performance.now() - started
  await repository.remove(loaded)
  await dataSource.destroy()
} else if (mode === 'source') {
  // The body's own cost: generated and consumed (and a second body for the way back), no
  // S3 and no database. What this grows the RSS by is the source's and V8's alone.
  baselineRss = process.memoryUsage().rss
  let started = performance.now()
  received = await consume(body(sent) as AsyncIterable<Buffer>)
  upMs = performance.now() - started
  started = performance.now()
  await consume(body(createHash('sha256')) as AsyncIterable<Buffer>)
  downMs = performance.now() - started
} else {
  const s3 = rawS3Client(connection)
  const key = `stream-raw/${randomUUID()}`
  baselineRss = process.memoryUsage().rss
  let started = performance.now()
  // lib-storage's defaults (5 MiB parts, 4 at once): S3Storage's defaults too.
  await new Upload({
    client: s3,
    params: { Bucket: connection.bucket, Key: key, Body: body(sent) },
  }).done()
  upMs = performance.now() - started
  started = performance.now()
  const response = await s3.send(new GetObjectCommand({ Bucket: connection.bucket, Key: key }))
  received = await consume(response.Body as AsyncIterable<Buffer>)
  downMs = performance.now() - started
  await s3.send(new DeleteObjectCommand({ Bucket: connection.bucket, Key: key }))
}
const digest = sent.digest('hex')
process.stdout.write(
  `${JSON.stringify({
    mode,
    size,
    upMs,
    downMs,
    intact: received === digest,
    recorded: mode !== 'attrstore' || recordedSha256 === digest,
    baselineRss,
    maxRss: process.resourceUsage().maxRSS * 1024,
  })}\n`,
)
process.exit(0)
