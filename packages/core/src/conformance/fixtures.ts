import { createHash, randomBytes } from 'node:crypto'
import { Readable } from 'node:stream'
import type { AttributeStorage } from '../contract.js'

/** A large body produced chunk by chunk, with its hash known once it has been consumed. */
export interface GeneratedBody {
  stream: Readable
  /** Size and SHA-256 of everything the stream produced (valid after it ended). */
  produced(): { size: number; sha256: string }
}

/**
 * Streams `size` bytes of incompressible data without ever holding more than one chunk:
 * one random block, each copy stamped with its index so no two chunks are equal.
 */
export function generateBody(size: number, chunkSize = 1 << 20): GeneratedBody {
  const block = randomBytes(chunkSize)
  const hash = createHash('sha256')
  let produced = 0
  let result: { size: number; sha256: string } | undefined
  async function* chunks(): AsyncGenerator<Buffer> {
    for (let index = 0; produced < size; index++) {
      const chunk = Buffer.from(block.subarray(0, Math.min(chunkSize, size - produced)))
      if (chunk.length >= 8) chunk.writeBigUInt64BE(BigInt(index), 0)
      produced += chunk.length
      hash.update(chunk)
      yield chunk
    }
    result = { size: produced, sha256: hash.digest('hex') }
  }
  return {
    stream: Readable.from(chunks(), { objectMode: false }),
    produced() {
      if (!result) throw new Error('generated body not consumed yet')
      return result
    },
  }
}

/** Size and SHA-256 of a stream, consumed chunk by chunk. */
export async function digestOf(
  stream: AsyncIterable<Buffer>,
): Promise<{ size: number; sha256: string }> {
  const hash = createHash('sha256')
  let size = 0
  for await (const chunk of stream) {
    size += chunk.length
    hash.update(chunk)
  }
  return { size, sha256: hash.digest('hex') }
}

/**
 * Runs `task` while sampling the process's resident set size and external memory (where
 * Buffers live), and returns how far each rose above where it started.
 */
export async function measureMemoryGrowth(
  task: () => Promise<void>,
): Promise<{ rss: number; external: number }> {
  const start = process.memoryUsage()
  let peakRss = start.rss
  let peakExternal = start.external
  const sample = (): void => {
    const now = process.memoryUsage()
    peakRss = Math.max(peakRss, now.rss)
    peakExternal = Math.max(peakExternal, now.external)
  }
  const timer = setInterval(sample, 5)
  try {
    await task()
  } finally {
    clearInterval(timer)
    sample()
  }
  return { rss: peakRss - start.rss, external: peakExternal - start.external }
}

/** An async iterable that yields some chunks, then fails: a body whose source breaks mid-way. */
export async function* failingBody(
  chunks: number,
  chunkSize = 64 * 1024,
): AsyncGenerator<Uint8Array> {
  for (let index = 0; index < chunks; index++) {
    yield new Uint8Array(chunkSize).fill(index % 256)
    await new Promise((resolve) => setImmediate(resolve))
  }
  throw new Error('conformance: the body source failed on purpose')
}

export const MiB = 1024 * 1024

/** Writes `size` random bytes: the new object's key, and the bytes it must give back. */
export async function writeRandomObject(
  storage: AttributeStorage,
  size: number,
): Promise<{ key: string; content: Buffer }> {
  const content = randomBytes(size)
  const { key } = await storage.write(content)
  return { key, content }
}
