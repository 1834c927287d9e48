/**
 * A Node http server that serves one stored object, in a process of its own so that its
 * peak RSS is the serving code's alone: `tsx serve.ts <attrstore|bare> <fs|s3> <key>`, with
 * BENCH_SERVE_ROOT (fs) or BENCH_S3 (JSON, s3) set by cases/serving.ts.
 *
 * - attrstore: `sendObject(request, response, storage, key)` of @attrstore/http over
 *   `BytesFileSystemStorage` or `S3Storage`;
 * - bare: the same bytes piped without it: `fs.createReadStream` of the object's file, or
 *   the raw SDK's `GetObject` body.
 *
 * Prints one JSON line once listening: `{ port, baselineRss }`. `GET /object` serves the
 * object; `GET /peak` answers the peak RSS sampled every 10 ms since the start.
 */
import { createReadStream } from 'node:fs'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { GetObjectCommand } from '@aws-sdk/client-s3'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { sendObject } from '@attrstore/http'
import type { AttributeStorage } from '@attrstore/core'
import type { S3Connection } from './lib/components.js'
import { rawS3Client, s3StorageFor } from './lib/context.js'

const [mode, kind, key] = process.argv.slice(2) as ['attrstore' | 'bare', 'fs' | 's3', string]
const connection = kind === 's3' ? (JSON.parse(process.env.BENCH_S3!) as S3Connection) : undefined
const storage: AttributeStorage =
  kind === 'fs'
    ? new BytesFileSystemStorage({ root: process.env.BENCH_SERVE_ROOT!, fsync: false })
    : s3StorageFor(connection!, 'serve')
const client = connection ? rawS3Client(connection) : undefined

async function bare(response: http.ServerResponse): Promise<void> {
  const { size } = await storage.stat(key)
  let body: Readable
  if (kind === 'fs') {
    body = createReadStream((storage as BytesFileSystemStorage).pathOf(key))
  } else {
    const answer = await client!.send(
      new GetObjectCommand({ Bucket: connection!.bucket, Key: `serve/${key}` }),
    )
    body = answer.Body as Readable
  }
  response.writeHead(200, { 'content-length': String(size) })
  await pipeline(body, response)
}

let peak = 0
const sample = (): void => void (peak = Math.max(peak, process.memoryUsage().rss))
sample()
setInterval(sample, 10).unref()

const server = http.createServer((request, response) => {
  if (request.url === '/peak') {
    sample()
    response.end(JSON.stringify({ peakRss: peak, maxRss: process.resourceUsage().maxRSS * 1024 }))
    return
  }
  const served = mode === 'attrstore' ? sendObject(request, response, storage, key) : bare(response)
  served.catch((error: unknown) => {
    process.stderr.write(`serve: ${String(error)}\n`)
    response.destroy()
  })
})
// The storage and the SDK loaded and connected before the baseline: one stat first.
await storage.stat(key)
server.listen(0, '127.0.0.1', () => {
  sample()
  const port = (server.address() as AddressInfo).port
  process.stdout.write(`${JSON.stringify({ port, baselineRss: process.memoryUsage().rss })}\n`)
})
