// A third storage driver, for tests only: it proves that a driver attrstore has never
// heard of gets stale-write clean-up from gc, and its signed URLs and direct uploads
// checked by the conformance suite, through the contract alone.
import { createHmac, randomBytes, randomUUID, timingSafeEqual } from 'node:crypto'
import { Readable } from 'node:stream'
import {
  ConfigurationError,
  KeyConflictError,
  ObjectNotFoundError,
  type ByteRange,
  type DirectUpload,
  type DirectUploadOptions,
  type ListedObject,
  type ObjectStat,
  type OpenedObject,
  type SignedUrl,
  type SignedUrlOptions,
  type StaleWritesOptions,
  type StaleWritesReport,
} from '@attrstore/core'
import {
  BaseStorage,
  assertValidKey,
  collectStream,
  emptyStaleWritesReport,
  resolveRange,
  sha256Hex,
  staleWritesCutoff,
  type BaseStorageOptions,
  type NewObject,
} from '@attrstore/core/driver'

export interface StoredObject {
  data: Buffer
  sha256: string
  lastModified: Date
  contentType?: string
}

/** A write whose body is still coming in, staged until it is whole. */
interface StagedWrite {
  key: string
  startedAt: number
  bytes: number
}

/**
 * What every storage of one backend shares: the objects, the staged writes, and the
 * secret its URLs are signed with. The HTTP side (./signing-server.ts) serves it too.
 */
export class StagedMemoryBackend {
  readonly id = randomUUID()
  readonly objects = new Map<string, StoredObject>()
  readonly staged = new Map<string, StagedWrite>()
  /** Where ./signing-server.ts listens, once it does: signed URLs point there. */
  baseUrl: string | undefined
  private readonly secret = randomBytes(32)

  /** Stores a whole object under a new key; never overwrites. */
  commit(key: string, data: Buffer, contentType?: string): void {
    if (this.objects.has(key)) throw new KeyConflictError(key)
    this.objects.set(key, {
      data,
      sha256: sha256Hex(data),
      lastModified: new Date(),
      ...(contentType === undefined ? {} : { contentType }),
    })
  }

  /** What a writer that died mid-body leaves: a staged write started `ageMs` ago, never committed. */
  abandonWrite(ageMs: number, bytes = 11): void {
    this.staged.set(randomUUID(), {
      key: `abandoned/${randomUUID()}`,
      startedAt: Date.now() - ageMs,
      bytes,
    })
  }

  /** The token of a URL: an HMAC of everything the URL grants. */
  sign(fields: readonly string[]): string {
    return createHmac('sha256', this.secret).update(fields.join('\n')).digest('hex')
  }

  /** Whether `token` is the token of `fields`, compared in constant time. */
  verify(fields: readonly string[], token: string): boolean {
    const expected = Buffer.from(this.sign(fields), 'hex')
    const given = Buffer.from(token, 'hex')
    return given.length === expected.length && timingSafeEqual(given, expected)
  }
}

/** What a signed download URL grants, in the order its token covers. */
export function downloadFields(
  key: string,
  expires: number,
  options: Pick<SignedUrlOptions, 'disposition' | 'fileName' | 'contentType'>,
): string[] {
  return [
    'GET',
    key,
    String(expires),
    options.disposition ?? '',
    options.fileName ?? '',
    options.contentType ?? '',
  ]
}

/** What a direct upload URL grants, in the order its token covers. */
export function uploadFields(
  key: string,
  expires: number,
  maxSize: number,
  contentType = '',
): string[] {
  return ['PUT', key, String(expires), String(maxSize), contentType]
}

function seconds(value: number, what: string): number {
  if (!(Number.isSafeInteger(value) && value > 0)) {
    throw new ConfigurationError(
      `${what} must be a whole number of seconds > 0, got ${String(value)}`,
    )
  }
  return value
}

/**
 * Keeps objects in its backend's map; a streamed body is staged until whole. Declares
 * `cleanStaleWrites` (abandoned staged writes), `signedUrl` and `createDirectUpload`
 * (served by ./signing-server.ts with HMAC tokens).
 */
export class StagedMemoryStorage extends BaseStorage {
  override readonly location: string

  constructor(
    readonly backend: StagedMemoryBackend,
    options: BaseStorageOptions = {},
  ) {
    super(options)
    this.location = `staged-memory://${backend.id}`
  }

  protected async putObject(object: NewObject): Promise<void> {
    if (this.backend.objects.has(object.key)) throw new KeyConflictError(object.key)
    const id = randomUUID()
    const staged: StagedWrite = { key: object.key, startedAt: Date.now(), bytes: 0 }
    this.backend.staged.set(id, staged)
    try {
      const data = object.bytes ? Buffer.from(object.bytes) : await collectStream(object.stream!)
      staged.bytes = data.length
      this.backend.commit(object.key, data, object.contentType)
    } finally {
      this.backend.staged.delete(id)
    }
  }

  private get(key: string): StoredObject {
    const found = this.backend.objects.get(key)
    if (!found) throw new ObjectNotFoundError(key)
    return found
  }

  protected async getObject(key: string, range: ByteRange | undefined): Promise<OpenedObject> {
    const { data, sha256 } = this.get(key)
    if (!range) return { stream: Readable.from([data], { objectMode: false }), sha256 }
    const { start, end } = resolveRange(key, range, data.length)
    return { stream: Readable.from([data.subarray(start, end + 1)], { objectMode: false }) }
  }

  protected async statObject(key: string): Promise<ObjectStat> {
    const { data, sha256, lastModified, contentType } = this.get(key)
    return { key, size: data.length, sha256, lastModified, ...(contentType ? { contentType } : {}) }
  }

  protected async deleteObject(key: string): Promise<void> {
    this.backend.objects.delete(key)
  }

  protected async *listObjects(prefix: string): AsyncIterable<ListedObject> {
    for (const [key, { data, lastModified }] of [...this.backend.objects]) {
      if (key.startsWith(prefix)) yield { key, size: data.length, lastModified }
    }
  }

  /** Drops staged writes started before the cut-off: their writers are gone. */
  async cleanStaleWrites(options: StaleWritesOptions): Promise<StaleWritesReport> {
    const cutoff = staleWritesCutoff(options)
    const report = emptyStaleWritesReport('staged writes', { countsBytes: true })
    for (const [id, staged] of [...this.backend.staged]) {
      report.found++
      if (staged.startedAt > cutoff) report.kept++
      else if (!options.dryRun) {
        this.backend.staged.delete(id)
        report.removed++
        report.bytes += staged.bytes
      }
    }
    return report
  }

  private base(): string {
    if (this.backend.baseUrl === undefined) {
      throw new ConfigurationError('StagedMemoryStorage: its backend is not served over HTTP')
    }
    return this.backend.baseUrl
  }

  async signedUrl(key: string, options: SignedUrlOptions): Promise<SignedUrl> {
    this.assertReference(key)
    const expires = Date.now() + seconds(options.expiresIn, 'expiresIn') * 1000
    const url = new URL(`/objects/${encodeURIComponent(key)}`, this.base())
    url.searchParams.set('expires', String(expires))
    if (options.disposition) url.searchParams.set('disposition', options.disposition)
    if (options.fileName) url.searchParams.set('filename', options.fileName)
    if (options.contentType) url.searchParams.set('type', options.contentType)
    url.searchParams.set('token', this.backend.sign(downloadFields(key, expires, options)))
    return { url: url.href, expiresAt: new Date(expires) }
  }

  async createDirectUpload(options: DirectUploadOptions): Promise<DirectUpload> {
    if (!(Number.isSafeInteger(options.maxSize) && options.maxSize >= 0)) {
      throw new ConfigurationError(`maxSize must be a byte count, got ${String(options.maxSize)}`)
    }
    const key = assertValidKey(await this.newKey(options.context ?? {}))
    const expires = Date.now() + seconds(options.expiresIn, 'expiresIn') * 1000
    const url = new URL(`/uploads/${encodeURIComponent(key)}`, this.base())
    url.searchParams.set('expires', String(expires))
    url.searchParams.set('max', String(options.maxSize))
    if (options.contentType) url.searchParams.set('type', options.contentType)
    url.searchParams.set(
      'token',
      this.backend.sign(uploadFields(key, expires, options.maxSize, options.contentType)),
    )
    return {
      key,
      method: 'PUT',
      url: url.href,
      ...(options.contentType ? { headers: { 'content-type': options.contentType } } : {}),
      expiresAt: new Date(expires),
    }
  }
}
