import { PassThrough, pipeline, Readable, Transform, type TransformCallback } from 'node:stream'
import { GetObjectCommand, HeadObjectCommand } from '@aws-sdk/client-s3'
import {
  isAttrstoreError,
  RangeNotSatisfiableError,
  StorageUnavailableError,
  type ByteRange,
  type ObjectStat,
  type OpenedObject,
} from '@attrstore/core'
import { errorCode, isAbort, isNotFound } from './errors.js'
import { hasHashRecord, readHashRecord } from './hash-record.js'
import { formatReference } from './reference.js'
import { recordedSha256, type S3Session } from './session.js'

/**
 * Reads: GetObject for content (the SDK's stream, never buffered; ranges with the `Range`
 * header, checked and cut down when the server answers more), HeadObject for stats.
 */
export class Reads {
  private readonly session: S3Session

  constructor(session: S3Session) {
    this.session = session
  }

  /**
   * Opens an object, or a range of it; the recorded SHA-256 comes along for whole reads
   * (read from the object's hash record only when `withSha256`).
   */
  async get(
    reference: string,
    range: ByteRange | undefined,
    signal?: AbortSignal,
    withSha256 = true,
  ): Promise<OpenedObject> {
    const { session } = this
    const { key, objectKey, input } = session.address(reference)
    try {
      const answer = await session.client.send(
        new GetObjectCommand({
          ...input,
          ...(range === undefined
            ? {}
            : { Range: `bytes=${range.start}-${range.end === undefined ? '' : range.end}` }),
        }),
        signal ? { abortSignal: signal } : {},
      )
      session.bucketSeen = true
      const body = answer.Body as Readable | undefined
      const stream = body
        ? withTypedErrors(body, (error) => this.brokenBody(error, objectKey))
        : Readable.from([], { objectMode: false })
      if (range !== undefined) {
        return { stream: checkedRange(reference, range, answer, stream) }
      }
      let sha256 = recordedSha256(answer.Metadata)
      if (sha256 === undefined && withSha256 && hasHashRecord(answer.Metadata)) {
        sha256 = await readHashRecord(session, key, {
          etag: answer.ETag,
          size: answer.ContentLength,
        }).catch((error: unknown) => {
          stream.destroy()
          throw error
        })
      }
      return { stream, ...(sha256 === undefined ? {} : { sha256 }) }
    } catch (error) {
      throw session.fail(error, range ? 'read (range)' : 'read', objectKey, reference)
    }
  }

  /**
   * What a body stream's error (after the answer's headers came) becomes: an attrstore
   * error or the caller's abort as it is, anything else (a connection reset by a server
   * killed mid-body, a socket timeout) a `StorageUnavailableError` with it as the cause.
   */
  private brokenBody(error: unknown, objectKey: string): unknown {
    if (isAttrstoreError(error) || isAbort(error)) return error
    const { session } = this
    const code = errorCode(error)
    return new StorageUnavailableError(
      `The connection to the S3 endpoint ${session.endpointLabel} broke in the middle of the ` +
        `body of s3://${session.bucket}/${objectKey} (read): ${code === undefined ? '' : `${code}: `}` +
        `${(error as Error)?.message ?? String(error)}. The bytes received are not returned; read again`,
      { cause: error },
    )
  }

  /** Size, date, recorded SHA-256 and content type, from one HeadObject. */
  async stat(reference: string): Promise<ObjectStat> {
    const { session } = this
    const { key, versionId, objectKey, input } = session.address(reference)
    let head
    try {
      head = await session.client.send(new HeadObjectCommand(input))
    } catch (error) {
      if (isNotFound(error)) throw await session.notFound(reference, error)
      throw session.fail(error, 'stat', objectKey, reference)
    }
    session.bucketSeen = true
    let sha256 = recordedSha256(head.Metadata)
    if (sha256 === undefined && hasHashRecord(head.Metadata)) {
      try {
        sha256 = await readHashRecord(session, key, {
          etag: head.ETag,
          size: head.ContentLength,
        })
      } catch (error) {
        throw session.fail(error, 'stat (hash record)', objectKey, reference)
      }
    }
    return {
      key: formatReference(key, head.VersionId ?? versionId),
      size: head.ContentLength ?? 0,
      ...(head.LastModified === undefined ? {} : { lastModified: head.LastModified }),
      ...(sha256 === undefined ? {} : { sha256 }),
      ...(head.ContentType === undefined ? {} : { contentType: head.ContentType }),
    }
  }
}

/**
 * The bytes of `range` out of a ranged GetObject answer. Servers that ignore `Range`
 * (200 with everything) or answer another range than asked (s3rver sends the whole object
 * for `bytes=0-0`) are cut down here; a range that does not cover the request is an error.
 */
function checkedRange(
  reference: string,
  range: ByteRange,
  answer: { ContentRange?: string | undefined; ContentLength?: number | undefined },
  stream: Readable,
): Readable {
  let first = 0
  let last: number
  let total: number | undefined
  const match = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(answer.ContentRange ?? '')
  if (match) {
    first = Number(match[1])
    last = Number(match[2])
    total = match[3] === '*' ? undefined : Number(match[3])
  } else {
    // No Content-Range: the whole object.
    total = answer.ContentLength ?? 0
    last = total - 1
    if (range.start >= total) {
      stream.destroy()
      throw new RangeNotSatisfiableError(
        reference,
        `start ${range.start} is past the end of a ${total}-byte object`,
      )
    }
  }
  const wantedEnd = Math.min(range.end ?? Infinity, total === undefined ? last : total - 1)
  if (first === range.start && last === wantedEnd) return stream
  if (first > range.start || last < wantedEnd) {
    stream.destroy()
    throw new StorageUnavailableError(
      `The server answered bytes ${first}-${last} to a request for bytes ${range.start}-${range.end ?? ''} of ${JSON.stringify(reference)}`,
    )
  }
  return pipeline(stream, new Slice(range.start - first, wantedEnd - first), () => {})
}

/** Passes bytes `start..end` (inclusive; end open when undefined) of what flows through. */
class Slice extends Transform {
  private offset = 0
  private readonly from: number
  private readonly to: number | undefined

  constructor(from: number, to: number | undefined) {
    super()
    this.from = from
    this.to = to
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    const begin = Math.max(this.from - this.offset, 0)
    const stop =
      this.to === undefined ? chunk.length : Math.min(this.to - this.offset + 1, chunk.length)
    this.offset += chunk.length
    if (stop > begin) this.push(chunk.subarray(begin, stop))
    callback()
  }
}

/**
 * `body` with its errors translated by `typed`. Destroying the result (a consumer that
 * stops early) destroys `body`, which lets the connection go.
 */
function withTypedErrors(body: Readable, typed: (error: unknown) => unknown): Readable {
  const out = new PassThrough()
  body.on('error', (error) => out.destroy(typed(error) as Error))
  out.once('close', () => {
    if (!body.destroyed) body.destroy()
  })
  body.pipe(out)
  return out
}
