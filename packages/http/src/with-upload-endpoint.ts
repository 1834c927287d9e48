import { randomUUID } from 'node:crypto'
import type { IncomingMessage, ServerResponse } from 'node:http'
import {
  ConfigurationError,
  type AttributeStorage,
  type DirectUpload,
  type DirectUploadOptions,
  type KeyGenerator,
} from '@attrstore/core'
import { assertValidKey, type HmacSecrets } from '@attrstore/core/driver'
import { takeUpload } from './upload-endpoint.js'
import { UploadUrlSigner } from './upload-url.js'

export type UploadEndpointOptions = HmacSecrets & {
  /** The URL the application serves {@link UploadEndpointStorage.handleUpload} at, e.g. `https://app.example/uploads`. */
  baseUrl: string
  /** How clients send: `PUT` with the raw body (default), or `POST` multipart/form-data. */
  method?: 'PUT' | 'POST'
  /** Makes the keys of uploads. Default: a random UUID under `uploads/`. */
  keyGenerator?: KeyGenerator
  /**
   * Milliseconds an upload may go without receiving a byte before it is given up (the
   * connection closed, nothing kept). Default 30 000; 0 disables it, leaving the bound to
   * the server's own timeouts (Node's `requestTimeout`, 300 s by default; Fastify sets none).
   */
  idleTimeoutMs?: number
  /** Clock, for tests. */
  now?: () => number
}

/**
 * A storage that takes direct uploads through the application's own HTTP endpoint: for
 * storages that cannot presign (the filesystem, memory). Everything else is the wrapped
 * storage's (its location too: rows, gc and claims see the same objects).
 */
export interface UploadEndpointStorage extends AttributeStorage {
  createDirectUpload(options: DirectUploadOptions): Promise<DirectUpload>
  /**
   * Serves one request to an upload URL (mount it at `baseUrl`; node:http, Express and
   * anything with Node's request and response). Answers 201 `{ key, size, sha256 }`, or
   * 403 (bad or expired signature), 409 (already sent), 413 (over the limit: the body is
   * stopped there), 415 (another media type), 400; never a stack trace.
   */
  handleUpload(request: IncomingMessage, response: ServerResponse): Promise<void>
}

const uuidUploadKey: KeyGenerator = () => `uploads/${randomUUID()}`

/**
 * Declares `createDirectUpload` on `storage` (which must not have one): an upload URL is
 * `baseUrl` with the key, the limit, the media type and the expiry in its query, signed
 * with HMAC-SHA256 under `secret` (or `secrets`, the first signing). The application
 * serves the endpoint with `handleUpload`; bodies stream into `storage.write`.
 *
 * ```ts
 * const storage = withUploadEndpoint(new BytesFileSystemStorage({ root }), {
 *   baseUrl: 'https://app.example/uploads',
 *   secret: process.env.UPLOAD_URL_SECRET!,
 * })
 * ```
 */
export function withUploadEndpoint(
  storage: AttributeStorage,
  options: UploadEndpointOptions,
): UploadEndpointStorage {
  if (storage.createDirectUpload) {
    throw new ConfigurationError(
      `The storage at ${storage.location} takes direct uploads itself: use it without withUploadEndpoint()`,
    )
  }
  let base: URL
  try {
    base = new URL(options.baseUrl)
  } catch (error) {
    throw new ConfigurationError(`withUploadEndpoint: baseUrl ${options.baseUrl} is no URL`, {
      cause: error,
    })
  }
  const signer = new UploadUrlSigner(options, storage.location)
  const method = options.method ?? 'PUT'
  const keyOf = options.keyGenerator ?? uuidUploadKey
  const now = options.now ?? Date.now
  const idleTimeoutMs = options.idleTimeoutMs ?? 30_000
  if (!(Number.isSafeInteger(idleTimeoutMs) && idleTimeoutMs >= 0))
    throw new ConfigurationError(
      `withUploadEndpoint: idleTimeoutMs must be whole milliseconds >= 0, got ${idleTimeoutMs}`,
    )

  const wrapper: UploadEndpointStorage = {
    location: storage.location,
    ...(storage.autoDelete === undefined ? {} : { autoDelete: storage.autoDelete }),
    write: (body, writeOptions) => storage.write(body, writeOptions),
    read: (key, readOptions) => storage.read(key, readOptions),
    readStream: (key, readOptions) => storage.readStream(key, readOptions),
    open: (key, readOptions) => storage.open(key, readOptions),
    stat: (key) => storage.stat(key),
    exists: (key) => storage.exists(key),
    delete: (key) => storage.delete(key),
    deleteMany: (keys) => storage.deleteMany(keys),
    list: (prefix) => storage.list(prefix),
    verify: (key) => storage.verify(key),
    async createDirectUpload(upload: DirectUploadOptions): Promise<DirectUpload> {
      if (!(Number.isSafeInteger(upload.maxSize) && upload.maxSize >= 0))
        throw new ConfigurationError(`maxSize must be a byte count, got ${upload.maxSize}`)
      if (!(Number.isSafeInteger(upload.expiresIn) && upload.expiresIn > 0))
        throw new ConfigurationError(`expiresIn must be whole seconds > 0, got ${upload.expiresIn}`)
      const key = assertValidKey(await keyOf(upload.context ?? {}))
      const expires = now() + upload.expiresIn * 1000
      const url = signer.sign(base.href, {
        method,
        key,
        maxSize: upload.maxSize,
        expires,
        ...(upload.contentType === undefined ? {} : { contentType: upload.contentType }),
      })
      return {
        key,
        method,
        url: url.href,
        ...(method === 'POST' ? { fields: {} } : {}),
        ...(method === 'PUT' && upload.contentType !== undefined
          ? { headers: { 'content-type': upload.contentType } }
          : {}),
        expiresAt: new Date(expires),
      }
    },
    handleUpload: (request, response) =>
      takeUpload(storage, signer, request, response, now(), idleTimeoutMs),
  }
  // The wrapped storage's other capabilities, and only those it has.
  if (storage.objectKey) wrapper.objectKey = storage.objectKey.bind(storage)
  // A getter, as the storage's may be (S3Storage's turns true once it sees a version).
  if (storage.versionedReferences !== undefined)
    Object.defineProperty(wrapper, 'versionedReferences', {
      get: () => storage.versionedReferences,
      enumerable: true,
    })
  if (storage.cleanStaleWrites) wrapper.cleanStaleWrites = storage.cleanStaleWrites.bind(storage)
  if (storage.readWhole) wrapper.readWhole = storage.readWhole.bind(storage)
  if (storage.dispose) wrapper.dispose = storage.dispose.bind(storage)
  if (storage.signedUrl) wrapper.signedUrl = storage.signedUrl.bind(storage)
  return wrapper
}
