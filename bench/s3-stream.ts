/**
 * Streams a 1 GiB body of unknown length up to an S3 server through S3Storage and back,
 * compares SHA-256s, and prints the process's peak RSS (must stay under 256 MiB) and the
 * throughput each way. fauxqs runs in a child process (it keeps objects in memory), so
 * the RSS measured is the client's alone.
 *
 *   pnpm --filter @attrstore/bench exec tsx --conditions=@attrstore/source s3-stream.ts
 *
 * Environment: BENCH_STREAM_MIB (default 1024), BENCH_PART_MIB, BENCH_QUEUE_SIZE (default:
 * S3Storage's defaults), S3_TEST_ENGINE (default fauxqs).
 */
import { createHash } from 'node:crypto'
import { Readable } from 'node:stream'
import { S3Storage } from '@attrstore/s3'
import { s3EngineFromEnv, startS3 } from '@attrstore/testing'

const MiB = 1024 * 1024
const size = Number(process.env.BENCH_STREAM_MIB ?? 1024) * MiB
const ceiling = 256 * MiB
const partSize = process.env.BENCH_PART_MIB ? Number(process.env.BENCH_PART_MIB) * MiB : undefined
const queueSize = process.env.BENCH_QUEUE_SIZE ? Number(process.env.BENCH_QUEUE_SIZE) : undefined

let peakRss = process.memoryUsage().rss
const sampler = setInterval(() => {
  peakRss = Math.max(peakRss, process.memoryUsage().rss)
}, 10)

/** `size` bytes in 1 MiB chunks, each different, hashed as they are produced. */
function body(): { stream: Readable; sha256(): string } {
  const block = Buffer.alloc(MiB)
  for (let i = 0; i < block.length; i += 4) block.writeUInt32LE((i * 2654435761) >>> 0, i)
  const hash = createHash('sha256')
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let offset = 0, index = 0; offset < size; offset += MiB, index++) {
      const chunk = Buffer.from(block.subarray(0, Math.min(MiB, size - offset)))
      if (chunk.length >= 8) chunk.writeBigUInt64BE(BigInt(index), 0)
      hash.update(chunk)
      yield chunk
    }
  }
  return {
    stream: Readable.from(chunks(), { objectMode: false }),
    sha256: () => hash.digest('hex'),
  }
}

const engine = s3EngineFromEnv()
const s3 = await startS3({ engine: engine === 'auto' ? 'fauxqs' : engine, isolate: true })
const storage = new S3Storage({
  bucket: s3.bucket,
  endpoint: s3.endpoint,
  region: s3.region,
  credentials: s3.credentials,
  prefix: 'bench-stream',
  partSize,
  queueSize,
})
const baseline = process.memoryUsage().rss
let failed: boolean
try {
  const source = body()
  let started = performance.now()
  const written = await storage.write(source.stream)
  const upSeconds = (performance.now() - started) / 1000
  const sent = source.sha256()

  started = performance.now()
  const hash = createHash('sha256')
  let received = 0
  for await (const chunk of await storage.readStream(written.key)) {
    hash.update(chunk as Buffer)
    received += (chunk as Buffer).length
  }
  const downSeconds = (performance.now() - started) / 1000
  const back = hash.digest('hex')
  const stat = await storage.stat(written.key)
  await storage.delete(written.key)
  clearInterval(sampler)
  peakRss = Math.max(peakRss, process.memoryUsage().rss)

  const mib = (bytes: number): string => (bytes / MiB).toFixed(1)
  const identical = back === sent && received === size && written.sha256 === sent
  console.log(`engine            ${s3.engine} (${s3.endpoint}, child process)`)
  console.log(
    `settings          partSize ${mib(storage.config.partSize)} MiB, queueSize ${storage.config.queueSize} ` +
      `(part buffers: queueSize x partSize = ${mib(storage.config.queueSize * storage.config.partSize)} MiB)`,
  )
  console.log(`body              ${mib(size)} MiB, unknown length`)
  console.log(
    `upload            ${upSeconds.toFixed(2)} s, ${(size / MiB / upSeconds).toFixed(1)} MiB/s`,
  )
  console.log(
    `download          ${downSeconds.toFixed(2)} s, ${(size / MiB / downSeconds).toFixed(1)} MiB/s`,
  )
  console.log(`sha256 sent       ${sent}`)
  console.log(`sha256 read back  ${back} (${received} bytes)`)
  console.log(`sha256 recorded   ${stat.sha256 ?? 'none'}`)
  console.log(`identical         ${identical ? 'yes' : 'NO'}`)
  console.log(
    `peak RSS          ${mib(peakRss)} MiB (at start ${mib(baseline)} MiB; ceiling ${mib(ceiling)} MiB)`,
  )
  failed = !identical || stat.sha256 !== sent || peakRss >= ceiling
  if (failed) console.log('FAILED')
} finally {
  clearInterval(sampler)
  storage.destroy()
  await s3.stop()
}
process.exit(failed ? 1 : 0)
