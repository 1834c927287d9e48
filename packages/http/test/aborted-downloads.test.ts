// Clients that go away mid-body: each one must end its storage read (file descriptor or S3
// socket), and the server must keep answering. Counted on /proc/self/fd (vitest runs each
// test file in its own process).
import { readdirSync } from 'node:fs'
import { mkdtemp, rm } from 'node:fs/promises'
import http from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { Readable } from 'node:stream'
import type { AttributeStorage, ReadOptions } from '@attrstore/core'
import { BytesFileSystemStorage } from '@attrstore/fs'
import { S3Storage } from '@attrstore/s3'
import { InstrumentedStorage, startHttpServer, startS3OrSkip } from '@attrstore/testing'
import { afterAll, describe, expect, it } from 'vitest'
import { sendObject, type SendOutcome } from '../src/index.js'

const ABORTS = 100
const SIZE = 8 * 1024 * 1024 // far more than loopback socket buffers hold
const CONTENT = Buffer.alloc(SIZE)
for (let i = 0; i + 4 <= SIZE; i += 4096) CONTENT.writeUInt32LE(i, i)

const openDescriptors = () => readdirSync('/proc/self/fd').length

/** Keeps every stream it hands out, to check each was destroyed. */
class RecordingStorage extends InstrumentedStorage {
  readonly streams: Readable[] = []
  override async readStream(key: string, options?: ReadOptions): Promise<Readable> {
    const stream = await super.readStream(key, options)
    this.streams.push(stream)
    return stream
  }
}

/** GETs `url`, reads the first chunk of the body, then drops the connection. */
function abortAfterFirstChunk(url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const request = http.get(url, { agent: false, timeout: 10_000 }, (response) => {
      if (response.statusCode !== 200) reject(new Error(`status ${response.statusCode}`))
      response.once('data', () => {
        request.destroy()
        resolve()
      })
    })
    request.on('timeout', () => request.destroy(new Error('no first chunk within 10 s')))
    request.on('error', (error) => {
      if (!request.destroyed || (error as NodeJS.ErrnoException).code !== 'ECONNRESET')
        reject(error)
    })
  })
}

async function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`)
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
}

async function checkAbortedDownloads(inner: AttributeStorage, key: string): Promise<void> {
  const storage = new RecordingStorage(inner)
  const outcomes: SendOutcome[] = []
  const server = await startHttpServer((request, response) => {
    void sendObject(request, response, storage, key).then((outcome) => outcomes.push(outcome))
  })
  try {
    // One whole download first: whatever is opened once per process (the S3 client's
    // agent, lazily loaded modules) is in the baseline.
    const whole = await fetch(server.url, { signal: AbortSignal.timeout(30_000) })
    expect(Buffer.from(await whole.arrayBuffer()).equals(CONTENT)).toBe(true)
    await until(() => outcomes.length === 1, 'the first download to end')
    const baseline = openDescriptors()

    for (let i = 0; i < ABORTS; i++) await abortAfterFirstChunk(server.url)
    await until(() => outcomes.length === ABORTS + 1, 'every aborted send to end')
    expect(outcomes.slice(1).every((outcome) => outcome.clientAborted === true)).toBe(true)
    expect(storage.streams).toHaveLength(ABORTS + 1)
    await until(() => storage.streams.every((stream) => stream.destroyed), 'reads destroyed')
    // Closed sockets and files are released asynchronously: wait for the count to settle.
    // A leak would keep about one descriptor per aborted download.
    await until(
      () => openDescriptors() <= baseline + 10,
      'open descriptors back to baseline',
    ).catch(() => {})
    expect(openDescriptors()).toBeLessThanOrEqual(baseline + 10)

    const after = await fetch(server.url, {
      headers: { range: 'bytes=4096-4099' },
      signal: AbortSignal.timeout(10_000),
    })
    expect(after.status).toBe(206)
    expect(Buffer.from(await after.arrayBuffer())).toEqual(CONTENT.subarray(4096, 4100))
  } finally {
    await server.close()
  }
}

// In a child process: the emulator's own sockets are not counted with the server's.
const started = await startS3OrSkip({ engine: 'fauxqs', isolate: true })
afterAll(() => started.s3?.stop())

describe(`${ABORTS} downloads aborted mid-body`, () => {
  it('BytesFileSystemStorage: every file closed, the server still answers', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'attrstore-http-aborts-'))
    try {
      const storage = new BytesFileSystemStorage({ root })
      const { key } = await storage.write(CONTENT)
      await checkAbortedDownloads(storage, key)
    } finally {
      await rm(root, { recursive: true, force: true })
    }
  })

  it.skipIf(!started.s3)(
    `S3Storage on fauxqs: every socket released, the server still answers${started.skip ? ` (skipped: ${started.skip})` : ''}`,
    async () => {
      const s3 = started.s3!
      const storage = new S3Storage({
        ...s3.storageOptions,
        maxAttempts: 2,
      })
      try {
        const { key } = await storage.write(CONTENT)
        await checkAbortedDownloads(storage, key)
      } finally {
        await storage.dispose()
      }
    },
  )
})
