/**
 * An in-memory, versioned S3 behind the S3Client interface: no local server supports
 * versioning (fauxqs and s3rver do not; MinIO does, where a container runtime exists), so
 * the version-pinning paths are exercised against this. It answers the commands
 * S3Storage sends, with S3's semantics for versions, If-None-Match and ranges.
 */
import { randomUUID } from 'node:crypto'
import { Readable } from 'node:stream'

interface Version {
  versionId: string
  body: Buffer
  metadata: Record<string, string>
  contentType: string | undefined
  lastModified: Date
}

function s3Error(name: string, status: number): Error {
  return Object.assign(new Error(name), {
    name,
    Code: name,
    $fault: 'client',
    $metadata: { httpStatusCode: status, attempts: 1 },
  })
}

async function bytes(body: unknown): Promise<Buffer> {
  if (Buffer.isBuffer(body)) return body
  if (body instanceof Uint8Array) return Buffer.from(body)
  const chunks: Buffer[] = []
  for await (const chunk of body as AsyncIterable<Buffer>) chunks.push(Buffer.from(chunk))
  return Buffer.concat(chunks)
}

export class FakeVersionedS3 {
  readonly objects = new Map<string, Version[]>()
  readonly uploads = new Map<
    string,
    {
      key: string
      parts: Map<number, Buffer>
      metadata: Record<string, string>
      contentType?: string
    }
  >()
  readonly sent: string[] = []
  readonly config = { requestChecksumCalculation: async () => 'WHEN_REQUIRED' }
  readonly middlewareStack = { add() {}, use() {} }

  destroy(): void {}

  private current(key: string): Version | undefined {
    return this.objects.get(key)?.at(-1)
  }

  private version(key: string, versionId: string | undefined): Version {
    const versions = this.objects.get(key) ?? []
    const found =
      versionId === undefined ? versions.at(-1) : versions.find((v) => v.versionId === versionId)
    if (!found) throw s3Error(versionId === undefined ? 'NoSuchKey' : 'NoSuchVersion', 404)
    return found
  }

  private store(
    key: string,
    body: Buffer,
    metadata: Record<string, string>,
    contentType?: string,
  ): Version {
    const version = {
      versionId: randomUUID(),
      body,
      metadata: { ...metadata },
      contentType,
      lastModified: new Date(),
    }
    this.objects.set(key, [...(this.objects.get(key) ?? []), version])
    return version
  }

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- mirrors S3Client.send's loose shapes
  async send(command: { constructor: { name: string }; input: Record<string, any> }): Promise<any> {
    const name = command.constructor.name.replace(/Command$/, '')
    const input = command.input
    this.sent.push(name)
    const meta = { $metadata: { httpStatusCode: 200 } }
    switch (name) {
      case 'HeadBucket':
        return meta
      case 'GetBucketVersioning':
        return { ...meta, Status: 'Enabled' }
      case 'PutObject': {
        const body = await bytes(input.Body)
        // Checked once the body arrived, with no await before the store: atomic, as S3.
        if (input.IfNoneMatch === '*' && this.current(input.Key))
          throw s3Error('PreconditionFailed', 412)
        const v = this.store(input.Key, body, input.Metadata ?? {}, input.ContentType)
        return { ...meta, VersionId: v.versionId, ETag: '"e"' }
      }
      case 'HeadObject': {
        const v = this.version(input.Key, input.VersionId)
        return {
          ...meta,
          VersionId: v.versionId,
          ContentLength: v.body.length,
          Metadata: v.metadata,
          ContentType: v.contentType,
          LastModified: v.lastModified,
        }
      }
      case 'GetObject': {
        const v = this.version(input.Key, input.VersionId)
        let body = v.body
        let range: string | undefined
        if (input.Range) {
          const [, start, end] = /^bytes=(\d+)-(\d*)$/.exec(input.Range)!
          const first = Number(start)
          if (first >= body.length) throw s3Error('InvalidRange', 416)
          const last = end === '' ? body.length - 1 : Math.min(Number(end), body.length - 1)
          range = `bytes ${first}-${last}/${body.length}`
          body = body.subarray(first, last + 1)
        }
        return {
          ...meta,
          Body: Readable.from([body]),
          ContentLength: body.length,
          ContentRange: range,
          Metadata: v.metadata,
          VersionId: v.versionId,
        }
      }
      case 'DeleteObject': {
        const versions = this.objects.get(input.Key) ?? []
        if (input.VersionId === undefined) {
          // S3 would add a delete marker; the fake drops the key (attrstore pins versions).
          this.objects.delete(input.Key)
          return meta
        }
        this.objects.set(
          input.Key,
          versions.filter((v) => v.versionId !== input.VersionId),
        )
        if (this.objects.get(input.Key)!.length === 0) this.objects.delete(input.Key)
        return meta
      }
      case 'DeleteObjects': {
        for (const { Key, VersionId } of input.Delete.Objects) {
          await this.send({
            constructor: { name: 'DeleteObjectCommand' },
            input: { Key, VersionId },
          })
          this.sent.pop()
        }
        return { ...meta, Errors: [] }
      }
      case 'ListObjectVersions': {
        const keys = [...this.objects.keys()]
          .filter((key) => key.startsWith(input.Prefix ?? ''))
          .sort()
        const start = input.KeyMarker === undefined ? 0 : keys.indexOf(input.KeyMarker) + 1
        const page = keys.slice(start, start + 250)
        return {
          ...meta,
          Versions: page.flatMap((key) =>
            this.objects.get(key)!.map((v, i, all) => ({
              Key: key,
              VersionId: v.versionId,
              IsLatest: i === all.length - 1,
              Size: v.body.length,
              LastModified: v.lastModified,
            })),
          ),
          IsTruncated: start + 250 < keys.length,
          NextKeyMarker: page.at(-1),
          NextVersionIdMarker: 'x',
        }
      }
      case 'CreateMultipartUpload': {
        const id = randomUUID()
        this.uploads.set(id, {
          key: input.Key,
          parts: new Map(),
          metadata: input.Metadata ?? {},
          contentType: input.ContentType,
        })
        return { ...meta, UploadId: id }
      }
      case 'UploadPart': {
        this.uploads.get(input.UploadId)!.parts.set(input.PartNumber, await bytes(input.Body))
        return { ...meta, ETag: `"p${input.PartNumber}"` }
      }
      case 'CompleteMultipartUpload': {
        const upload = this.uploads.get(input.UploadId)
        if (!upload) throw s3Error('NoSuchUpload', 404)
        if (input.IfNoneMatch === '*' && this.current(input.Key))
          throw s3Error('PreconditionFailed', 412)
        this.uploads.delete(input.UploadId)
        const body = Buffer.concat(
          [...upload.parts.entries()].sort((a, b) => a[0] - b[0]).map(([, part]) => part),
        )
        const v = this.store(upload.key, body, upload.metadata, upload.contentType)
        return { ...meta, VersionId: v.versionId, ETag: '"m-2"' }
      }
      case 'AbortMultipartUpload':
        if (!this.uploads.delete(input.UploadId)) throw s3Error('NoSuchUpload', 404)
        return meta
      case 'CopyObject': {
        const [, encodedKey, query] = /^[^/]+\/([^?]*)(?:\?versionId=(.*))?$/.exec(
          input.CopySource,
        )!
        const source = this.version(
          decodeURIComponent(encodedKey!),
          query === undefined ? undefined : decodeURIComponent(query),
        )
        const v = this.store(input.Key, source.body, input.Metadata ?? {}, input.ContentType)
        return { ...meta, VersionId: v.versionId }
      }
      default:
        throw s3Error('NotImplemented', 501)
    }
  }
}
