/**
 * The S3 gateway (`createS3Gateway` of @attrstore/http), measured:
 *
 * 1. GetObject of 1 MiB through the gateway over a BytesFileSystemStorage, against the same
 *    file sent by `fs.createReadStream` from a bare `http` server, alternated in one run:
 *    median time and throughput;
 * 2. peak RSS of a gateway process while a client streams a 1 GiB object through it;
 * 3. peak RSS of a gateway process while a client pages through listings of 10,000,
 *    100,000 and 1,000,000 objects (a generated storage that holds no object, so that the memory
 *    measured is the gateway's: its sort runs, snapshot pages, XML).
 *
 * Each gateway runs in a child process of its own, so each RSS is that process's alone.
 *
 *   pnpm --filter @attrstore/bench exec tsx --conditions=@attrstore/source gateway.ts
 *
 * Environment: BENCH_GATEWAY_CASES (default `get,stream,list,list-repeated`), BENCH_GATEWAY_REPS
 * (default 40), BENCH_GATEWAY_OBJECTS (the listings' sizes, default
 * `10000,100000,1000000`), BENCH_STREAM_MIB (default 1024).
 */
import { fork, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createReadStream } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Readable } from 'node:stream'
import { fileURLToPath } from 'node:url'
import {
  MemoryStorage,
  type AttributeStorage,
  type ListedObject,
  type ObjectStat,
} from '@attrstore/core'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { createS3Gateway } from '@attrstore/http'

const MiB = 1024 * 1024
const here = fileURLToPath(import.meta.url)
const reps = Number(process.env.BENCH_GATEWAY_REPS ?? 40)
const listCounts = (process.env.BENCH_GATEWAY_OBJECTS ?? '10000,100000,1000000')
  .split(',')
  .map(Number)
const cases = new Set(
  (process.env.BENCH_GATEWAY_CASES ?? 'get,stream,list,list-repeated').split(','),
)
const streamSize = Number(process.env.BENCH_STREAM_MIB ?? 1024) * MiB

/** A storage listing `count` generated objects in a scrambled order, holding none of them. */
function generatedStorage(count: number): AttributeStorage {
  const keyOf = (n: number) =>
    `shard-${(n * 7919) % 256}/object-${((n * 2654435761) >>> 0).toString(16)}-${n}.bin`
  const base = new MemoryStorage()
  return Object.assign(Object.create(base) as AttributeStorage, {
    async *list(): AsyncIterable<ListedObject> {
      for (let n = 0; n < count; n++) yield { key: keyOf(n), size: 1024, lastModified: new Date(0) }
    },
    async stat(key: string): Promise<ObjectStat> {
      return {
        key,
        size: 1024,
        lastModified: new Date(0),
        sha256: createHash('sha256').update(key).digest('hex'),
      }
    },
  })
}

/** Child mode: serve one storage and report the peak RSS when asked. */
async function child(kind: string, arg: string): Promise<void> {
  const storage =
    kind === 'fs' ? new BytesFileSystemStorage({ root: arg }) : generatedStorage(Number(arg))
  const gateway = createS3Gateway({ buckets: { bench: storage }, anonymous: true })
  const server = http.createServer(gateway).listen(0, '127.0.0.1', () => {
    process.send!({ port: (server.address() as AddressInfo).port, rss: process.memoryUsage().rss })
  })
  const peaks = { rss: 0, heapUsed: 0, heapTotal: 0, external: 0, arrayBuffers: 0 }
  const sample = () => {
    const usage = process.memoryUsage()
    for (const name of Object.keys(peaks) as (keyof typeof peaks)[])
      peaks[name] = Math.max(peaks[name], usage[name])
  }
  sample()
  setInterval(sample, 10).unref()
  process.on('message', () =>
    process.send!({ peak: peaks.rss, peaks, maxRss: process.resourceUsage().maxRSS * 1024 }),
  )
}

function startChild(
  kind: string,
  arg: string,
): Promise<{ port: number; rss: number; process: ChildProcess }> {
  const spawned = fork(here, ['child', kind, arg], {
    execArgv: [
      ...process.execArgv,
      ...(process.env.BENCH_GATEWAY_NODE_FLAGS ?? '').split(' ').filter(Boolean),
    ],
  })
  return new Promise((resolve) =>
    spawned.once('message', (m: { port: number; rss: number }) =>
      resolve({ ...m, process: spawned }),
    ),
  )
}

interface Peaks {
  peak: number
  peaks: Record<'rss' | 'heapUsed' | 'heapTotal' | 'external' | 'arrayBuffers', number>
  maxRss: number
}

function peakOf(spawned: ChildProcess): Promise<Peaks> {
  return new Promise((resolve) => {
    spawned.once('message', resolve as never)
    spawned.send('peak')
  })
}

async function download(url: string): Promise<number> {
  const response = await fetch(url)
  if (!response.ok) throw new Error(`${url}: ${response.status}`)
  let size = 0
  for await (const chunk of response.body as unknown as AsyncIterable<Uint8Array>)
    size += chunk.length
  return size
}

const median = (values: number[]): number => {
  const sorted = [...values].sort((a, b) => a - b)
  return sorted[Math.floor(sorted.length / 2)]!
}
const mib = (bytes: number) => `${(bytes / MiB).toFixed(0)} MiB`

async function getObject(root: string): Promise<void> {
  const storage = new BytesFileSystemStorage({ root, fsync: false })
  const small = await storage.write(Buffer.alloc(MiB, 7))
  const bare = http
    .createServer((_, response) => {
      response.setHeader('Content-Length', String(MiB))
      createReadStream(storage.pathOf(small.key)).pipe(response)
    })
    .listen(0, '127.0.0.1')
  await new Promise((resolve) => bare.once('listening', resolve))
  const bareUrl = `http://127.0.0.1:${(bare.address() as AddressInfo).port}/`
  const gatewayChild = await startChild('fs', root)
  // The bare server runs in this process, the gateway in a child: give the bare one a
  // child too would be fairer still; both pay one loopback hop and one file read.
  const gatewayUrl = `http://127.0.0.1:${gatewayChild.port}/bench/${small.key}`
  const times = { gateway: [] as number[], bare: [] as number[] }
  for (let i = 0; i < reps + 5; i++) {
    for (const [name, url] of [
      ['gateway', gatewayUrl],
      ['bare', bareUrl],
    ] as const) {
      const started = process.hrtime.bigint()
      const size = await download(url)
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      if (size !== MiB) throw new Error(`${name}: ${size} bytes`)
      if (i >= 5) times[name].push(ms)
    }
  }
  bare.close()
  gatewayChild.process.kill()
  for (const name of ['gateway', 'bare'] as const) {
    const ms = median(times[name])
    console.log(
      `GetObject 1 MiB, ${name === 'gateway' ? 'gateway over BytesFileSystemStorage' : 'bare http + fs.createReadStream'}: ${ms.toFixed(2)} ms median, ${(1000 / ms).toFixed(0)} MiB/s (n=${reps})`,
    )
  }
  console.log(`ratio gateway / bare: ${(median(times.gateway) / median(times.bare)).toFixed(2)}x`)
}

async function getLargeObject(root: string): Promise<void> {
  const storage = new BytesFileSystemStorage({ root, fsync: false })
  const large = await storage.write(
    Readable.from(
      (function* () {
        const block = Buffer.alloc(MiB, 1)
        for (let at = 0; at < streamSize; at += MiB) yield block
      })(),
    ),
    { size: streamSize },
  )
  const gatewayChild = await startChild('fs', root)
  const started = Date.now()
  const got = await download(`http://127.0.0.1:${gatewayChild.port}/bench/${large.key}`)
  const seconds = (Date.now() - started) / 1000
  const { peak } = await peakOf(gatewayChild.process)
  gatewayChild.process.kill()
  console.log(
    `GetObject ${mib(got)} through the gateway: ${seconds.toFixed(1)} s, ${(got / MiB / seconds).toFixed(0)} MiB/s; gateway RSS ${mib(gatewayChild.rss)} at start, ${mib(peak)} peak`,
  )
}

/**
 * Pages through the listing of `count` objects, `times` over: the same number of pages as
 * one listing `times` larger, which tells memory that grows with a listing's size from
 * memory that grows with the number of requests served.
 */
async function listObjects(count: number, times = 1): Promise<void> {
  const lister = await startChild('generated', String(count))
  const listStarted = Date.now()
  let pages = 0
  for (let time = 0; time < times; time++) {
    let token: string | undefined
    let listed = 0
    do {
      const url = `http://127.0.0.1:${lister.port}/bench?list-type=2${token ? `&continuation-token=${encodeURIComponent(token)}` : ''}`
      const xml = await (await fetch(url)).text()
      listed += xml.split('<Contents>').length - 1
      pages++
      token = /<NextContinuationToken>([^<]+)</.exec(xml)?.[1]
    } while (token)
    if (listed !== count) throw new Error(`listed ${listed} of ${count}`)
  }
  const { peak, peaks } = await peakOf(lister.process)
  lister.process.kill()
  console.log(
    `ListObjectsV2 of ${count.toLocaleString('en')} objects${times > 1 ? `, ${times} times` : ''}: ${pages} pages in ${((Date.now() - listStarted) / 1000).toFixed(1)} s; gateway RSS ${mib(lister.rss)} at start, ${mib(peak)} peak (peak heap used ${mib(peaks.heapUsed)}, heap total ${mib(peaks.heapTotal)}, external ${mib(peaks.external)}, array buffers ${mib(peaks.arrayBuffers)})`,
  )
}

async function main(): Promise<void> {
  const root = await mkdtemp(path.join(tmpdir(), 'attrstore-bench-gateway-'))
  try {
    if (cases.has('get')) await getObject(root)
    if (cases.has('stream')) await getLargeObject(root)
    if (cases.has('list')) for (const count of listCounts) await listObjects(count)
    if (cases.has('list-repeated')) await listObjects(10_000, 100)
  } finally {
    await rm(root, { recursive: true, force: true })
  }
}

if (process.argv[2] === 'child') await child(process.argv[3]!, process.argv[4]!)
else await main()
