import { createHash, type Hash } from 'node:crypto'
import { Transform, type TransformCallback } from 'node:stream'
import { IntegrityError } from './errors.js'
import type { WriteProgress } from './contract.js'

/** Hex SHA-256 of some bytes. */
export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex')
}

/** Size and SHA-256 of a body, known once it has been consumed. */
export interface Digest {
  size: number
  sha256: string
}

export interface DigestStreamOptions {
  /** Key the bytes are for, named in errors. */
  key: string
  /** Fail as soon as more bytes than this flow, and at the end if fewer did. */
  expectedSize?: number | undefined
  /** Fail at the end if the hash differs. */
  expectedSha256?: string | undefined
  onProgress?: ((progress: WriteProgress) => void) | undefined
}

/**
 * A pass-through stream that hashes and counts what flows through it, so integrity costs
 * no second read. Checks the expected size and hash, if given, and errors with an
 * {@link IntegrityError} before its end is signalled, so no consumer sees a "complete"
 * body that is wrong.
 */
export class DigestStream extends Transform {
  private readonly hash: Hash = createHash('sha256')
  private bytes = 0
  private result: Digest | undefined
  private readonly options: DigestStreamOptions

  constructor(options: DigestStreamOptions) {
    super()
    this.options = options
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    this.bytes += chunk.length
    const { expectedSize, key, onProgress } = this.options
    if (expectedSize !== undefined && this.bytes > expectedSize) {
      callback(
        new IntegrityError(key, `${expectedSize} bytes`, `more than ${expectedSize}`, 'size'),
      )
      return
    }
    this.hash.update(chunk)
    onProgress?.({
      bytes: this.bytes,
      ...(expectedSize === undefined ? {} : { total: expectedSize }),
    })
    callback(null, chunk)
  }

  override _flush(callback: TransformCallback): void {
    const { expectedSize, expectedSha256, key } = this.options
    const sha256 = this.hash.digest('hex')
    if (expectedSize !== undefined && this.bytes !== expectedSize) {
      callback(new IntegrityError(key, `${expectedSize} bytes`, `${this.bytes} bytes`, 'size'))
      return
    }
    if (expectedSha256 !== undefined && sha256 !== expectedSha256.toLowerCase()) {
      callback(new IntegrityError(key, expectedSha256, sha256))
      return
    }
    this.result = { size: this.bytes, sha256 }
    callback()
  }

  /** The digest, available once the stream has been consumed to its end. */
  get digest(): Digest {
    if (!this.result) throw new Error('DigestStream.digest read before the stream ended')
    return this.result
  }
}

/** What {@link hashStream} read: the size and SHA-256 of a whole stream, and its bytes when kept. */
export interface HashedStream extends Digest {
  /** The whole content, when `keep` was asked for. */
  bytes?: Buffer
}

/**
 * Reads `source` to its end and returns its size and SHA-256 (and, with `keep`, its bytes):
 * the one place that hashes a stream read back from a storage (a migration's check of its
 * copy, a load that remembers what it read).
 */
export async function hashStream(
  source: AsyncIterable<Uint8Array | string>,
  options: { keep?: boolean } = {},
): Promise<HashedStream> {
  const hash = createHash('sha256')
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of source) {
    const bytes =
      typeof chunk === 'string'
        ? Buffer.from(chunk)
        : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength)
    hash.update(bytes)
    size += bytes.length
    if (options.keep) chunks.push(bytes)
  }
  const sha256 = hash.digest('hex')
  if (!options.keep) return { size, sha256 }
  return { size, sha256, bytes: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size) }
}

/** Normalises a user-supplied hex SHA-256 and rejects anything that is not one. */
export function isSha256Hex(value: string): boolean {
  return /^[0-9a-fA-F]{64}$/.test(value)
}
