import { createReadStream } from 'node:fs'
import { mkdtemp, open, rm } from 'node:fs/promises'
import path from 'node:path'
import type { Readable } from 'node:stream'

// The body of a write as S3Storage consumes it: its first part read ahead (to choose
// between one PUT and a multipart upload), then cut in parts, or spooled to disk.

/** The start of a streamed body, read to decide between one PUT and a multipart upload. */
export interface FirstPart {
  chunks: Buffer[]
  length: number
  /** The body ended within the first part: it is whole in `chunks`. */
  ended: boolean
  /** Where the rest of the body comes from (when not ended). */
  rest: AsyncIterator<Buffer>
}

/**
 * Reads a stream until more than `limit` bytes came or it ended. A body of at most
 * `limit` bytes is then known whole, with its digest: it goes as one PutObject carrying
 * its SHA-256. A longer one goes on as a multipart upload, without having been copied.
 */
export async function readFirstPart(stream: Readable, limit: number): Promise<FirstPart> {
  const rest = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>
  const chunks: Buffer[] = []
  let length = 0
  while (length <= limit) {
    const next = await rest.next()
    if (next.done) return { chunks, length, ended: true, rest }
    chunks.push(next.value)
    length += next.value.length
  }
  return { chunks, length, ended: false, rest }
}

/** A body spooled to a temporary file: its length is known, and it can be read again. */
export interface SpooledBody {
  file: string
  size: number
  open(): Readable
  remove(): Promise<void>
}

/** Writes the first part and the rest of a body to a private temporary file. */
export async function spoolBody(first: FirstPart, directory: string): Promise<SpooledBody> {
  const folder = await mkdtemp(path.join(directory, 'attrstore-spool-'))
  const file = path.join(folder, 'body')
  const remove = (): Promise<void> => rm(folder, { recursive: true, force: true })
  try {
    const handle = await open(file, 'wx', 0o600)
    let size = 0
    try {
      while (first.chunks.length > 0) {
        const chunk = first.chunks.shift()!
        await handle.write(chunk)
        size += chunk.length
      }
      while (true) {
        const next = await first.rest.next()
        if (next.done) break
        await handle.write(next.value)
        size += next.value.length
      }
    } finally {
      await handle.close()
    }
    return { file, size, open: () => createReadStream(file), remove }
  } catch (error) {
    await remove().catch(() => {})
    throw error
  }
}
