import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  type CompletedPart,
  type CreateMultipartUploadCommandInput,
} from '@aws-sdk/client-s3'
import type { FirstPart } from './body.js'
import type { S3Session } from './session.js'

// A multipart upload whose memory is fixed: `queueSize` part buffers, allocated once per
// upload and refilled as each UploadPart completes. lib-storage's `Upload` concatenates a
// new buffer for every part (and keeps the previous one alive through the rest of the
// last chunk): 1 GiB in 5 MiB parts allocates 205 buffers, which V8 frees only when its
// external-memory heuristic triggers a collection, about 100 MiB later (measured with
// `process.memoryUsage().arrayBuffers`). Its guarantees are kept: `queueSize` parts in
// flight at most, the first failure stops the others, and the caller aborts the upload.

/** S3's limit on parts per upload. */
const MAX_PARTS = 10_000

/** What goes in parts: a stream past its first part (copied into the pool), or bytes (sliced). */
export type PartBody = { first: FirstPart } | { bytes: Buffer }

/** What CompleteMultipartUpload answered. */
export interface CompletedUpload {
  VersionId?: string | undefined
  ETag?: string | undefined
}

/** One upload in parts; `uploadId` is set once CreateMultipartUpload answered (for the abort). */
export class PartUpload {
  uploadId: string | undefined
  /** The error the body itself failed with, if it did (rather than what a request made of it). */
  bodyError: unknown
  private readonly session: S3Session
  private readonly params: CreateMultipartUploadCommandInput & { Bucket: string; Key: string }
  private readonly partSize: number
  private readonly signal: AbortSignal | undefined
  /** Buffers free for the next part (streams only). */
  private readonly free: Buffer[] = []
  /** The rest of a chunk that did not fit in the last part (a view of the body's chunk). */
  private pending: Buffer | undefined
  private offset = 0
  private nextNumber = 1
  private ended = false
  private failure: { error: unknown } | undefined
  /** Parts are cut one at a time: the body is read in order. */
  private cutting: Promise<unknown> = Promise.resolve()

  constructor(
    session: S3Session,
    params: CreateMultipartUploadCommandInput & { Bucket: string; Key: string },
    partSize: number,
    signal: AbortSignal | undefined,
  ) {
    this.session = session
    this.params = params
    this.partSize = partSize
    this.signal = signal
  }

  /**
   * Sends `body` in parts, `queueSize` at a time, and completes the upload (with
   * `If-None-Match: *` when `ifNoneMatch`). Rejects with the first failure (the body's own
   * error, when the body broke); the caller aborts the upload then.
   */
  async send(body: PartBody, queueSize: number, ifNoneMatch: boolean): Promise<CompletedUpload> {
    const { session, params } = this
    const options = this.signal ? { abortSignal: this.signal } : {}
    const checksums =
      (await (
        session.client.config as { requestChecksumCalculation?: () => Promise<string> }
      ).requestChecksumCalculation?.()) === 'WHEN_SUPPORTED'
    const created = await session.client.send(
      new CreateMultipartUploadCommand({
        ...params,
        // As lib-storage: with the SDK's checksums on, each part carries a CRC32.
        ...(checksums && params.ChecksumAlgorithm === undefined
          ? { ChecksumAlgorithm: 'CRC32' }
          : {}),
      }),
      options,
    )
    this.uploadId = created.UploadId
    const parts: CompletedPart[] = []
    const next = 'bytes' in body ? () => this.slice(body.bytes) : () => this.fill(body.first)
    const worker = async (): Promise<void> => {
      while (this.failure === undefined) {
        const part = await next()
        if (part === undefined) return
        const answer = await session.client.send(
          new UploadPartCommand({
            Bucket: params.Bucket,
            Key: params.Key,
            UploadId: this.uploadId,
            PartNumber: part.number,
            Body: part.data,
            ContentLength: part.data.length,
            ...session.payer,
          }),
          options,
        )
        // The SDK is done with the buffer once the part is answered: it may take the next.
        if (part.buffer) this.free.push(part.buffer)
        parts.push({
          PartNumber: part.number,
          ETag: answer.ETag,
          ...(answer.ChecksumCRC32 ? { ChecksumCRC32: answer.ChecksumCRC32 } : {}),
          ...(answer.ChecksumCRC32C ? { ChecksumCRC32C: answer.ChecksumCRC32C } : {}),
          ...(answer.ChecksumSHA1 ? { ChecksumSHA1: answer.ChecksumSHA1 } : {}),
          ...(answer.ChecksumSHA256 ? { ChecksumSHA256: answer.ChecksumSHA256 } : {}),
        })
      }
    }
    await Promise.all(
      Array.from({ length: queueSize }, () =>
        worker().catch((error: unknown) => {
          this.failure ??= { error }
        }),
      ),
    )
    if (this.failure) throw this.failure.error
    this.signal?.throwIfAborted()
    parts.sort((a, b) => a.PartNumber! - b.PartNumber!)
    return session.client.send(
      new CompleteMultipartUploadCommand({
        Bucket: params.Bucket,
        Key: params.Key,
        UploadId: this.uploadId,
        MultipartUpload: { Parts: parts },
        ...(ifNoneMatch ? { IfNoneMatch: '*' } : {}),
        ...session.payer,
      }),
      options,
    )
  }

  /** The next part of bytes: a view, nothing copied. */
  private async slice(bytes: Buffer): Promise<Part | undefined> {
    this.signal?.throwIfAborted()
    if (this.offset >= bytes.length) return undefined
    const data = bytes.subarray(this.offset, this.offset + this.partSize)
    this.offset += data.length
    return { number: this.numbered(), data }
  }

  /** The next part of a stream, copied into a free buffer of the pool (one at a time). */
  private fill(first: FirstPart): Promise<Part | undefined> {
    const filled = this.cutting.then(() => this.fillNow(first))
    this.cutting = filled.catch(() => {})
    return filled
  }

  private async fillNow(first: FirstPart): Promise<Part | undefined> {
    if (this.ended || this.failure !== undefined) return undefined
    const buffer = this.free.pop() ?? Buffer.allocUnsafe(this.partSize)
    let length = 0
    while (length < buffer.length) {
      let chunk = this.pending ?? first.chunks.shift()
      this.pending = undefined
      if (chunk === undefined) {
        let read: IteratorResult<Buffer>
        try {
          read = await first.rest.next()
        } catch (error) {
          this.bodyError ??= error
          throw error
        }
        if (read.done) {
          this.ended = true
          break
        }
        chunk = read.value
      }
      const taken = chunk.copy(buffer, length)
      length += taken
      if (taken < chunk.length) this.pending = chunk.subarray(taken)
    }
    if (length === 0) {
      this.free.push(buffer)
      return undefined
    }
    return { number: this.numbered(), data: buffer.subarray(0, length), buffer }
  }

  private numbered(): number {
    if (this.nextNumber > MAX_PARTS) {
      throw new RangeError(
        `The body needs more than ${MAX_PARTS} parts of ${this.partSize} bytes: raise partSize`,
      )
    }
    return this.nextNumber++
  }
}

interface Part {
  number: number
  data: Buffer
  /** The pool buffer `data` is in, returned to the pool once the part is sent. */
  buffer?: Buffer
}
